import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { layerViolations } from "../../scripts/check_layers.ts";

test("the import rules of ARCHITECTURE.md hold in this tree", () => {
  assert.deepEqual(layerViolations(), []);
});

test("the layer check finds each kind of violation (and ignores imports in comments)", () => {
  const root = mkdtempSync(join(tmpdir(), "peerlink-layers-"));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  try {
    write("src/peerlink.ts", 'import { autoRuntime } from "../runtimes/auto.ts";\n');
    write("src/wire/codec.ts", 'import type { RpcLimits } from "../rpc/limits.ts";\n');
    write("src/net_user.ts", "const l = Deno.listen({ port: 1 });\n");
    write("src/fine.ts", '/**\n * import { x } from "../runtimes/auto.ts";\n */\nimport { y } from "./net.ts";\n');
    write("runtimes/node/tcp.ts", 'import { Gate } from "../../src/security/gate.ts";\nimport "../../src/net.ts";\n');
    write("cli/main.ts", 'const m = await import("../runtimes/auto.ts");\n');
    const problems = layerViolations(root);
    assert.equal(problems.length, 5, problems.join("\n"));
    assert.ok(problems.some((p) => p.startsWith("src/peerlink.ts imports runtimes/auto.ts")));
    assert.ok(problems.some((p) => p.startsWith("src/wire/codec.ts imports src/rpc/limits.ts")));
    assert.ok(problems.some((p) => p.startsWith("src/net_user.ts uses a runtime's networking")));
    assert.ok(problems.some((p) => p.startsWith("runtimes/node/tcp.ts imports src/security/gate.ts")));
    assert.ok(problems.some((p) => p.startsWith("cli/main.ts imports runtimes/auto.ts")));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
