/**
 * The CLI's pure parts: argument parsing, durations, formatting, colours, JSON arguments,
 * help, and `main()` usage errors. No sockets.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { closest, editDistance, integerOption, listOption, parseCommandArgs } from "../../cli/args.ts";
import { basicHandlers, demoHandlers, demoPattern } from "../../cli/builtins.ts";
import { formatAge, formatMs, parseDuration } from "../../cli/duration.ts";
import { describeError, EXIT, UsageError } from "../../cli/errors.ts";
import { alignColumns, colorEnabled, createStyle, stripAnsi, summarize } from "../../cli/format.ts";
import { commandHelp } from "../../cli/help.ts";
import { parseJsonArgument, toJson } from "../../cli/json.ts";
import { COMMANDS } from "../../cli/main.ts";
import { usedTransport } from "../../cli/transport.ts";
import { VERSION } from "../../src/version.ts";
import { runMain } from "../support/cli_harness.ts";

const ESC = "\x1b";

test("parseDuration() reads s, ms, m, h and bare seconds", () => {
  assert.equal(parseDuration("3s", "--wait"), 3000);
  assert.equal(parseDuration("500ms", "--wait"), 500);
  assert.equal(parseDuration("2m", "--wait"), 120_000);
  assert.equal(parseDuration("1h", "--wait"), 3_600_000);
  assert.equal(parseDuration("1.5s", "--wait"), 1500);
  assert.equal(parseDuration("2", "--wait"), 2000);
  assert.equal(parseDuration("0.25", "--wait"), 250);
  assert.equal(parseDuration("0", "--wait", true), 0);
});

test("parseDuration() rejects junk, zero timeouts and absurd lengths with the option named", () => {
  for (const bad of ["", "abc", "3x", "-1s", "1e3", "s", "3 s s"]) {
    assert.throws(() => parseDuration(bad, "--wait"), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, /--wait/);
      assert.match(e.message, /3s, 500ms, 2m/);
      return true;
    }, bad);
  }
  assert.throws(() => parseDuration("0s", "--timeout"), /--timeout must be longer than 0/);
  assert.throws(() => parseDuration("25h", "--wait"), /at most 24h/);
});

test("formatMs() and formatAge() are short and readable", () => {
  assert.equal(formatMs(12.34), "12.3 ms");
  assert.equal(formatMs(0.42), "0.4 ms");
  assert.equal(formatMs(250), "250 ms");
  assert.equal(formatMs(3000), "3.0 s");
  assert.equal(formatMs(125_000), "2m 05s");
  assert.equal(formatMs(-1), "?");
  assert.equal(formatAge(1_000, 4_200), "3s ago");
  assert.equal(formatAge(0, 150_000), "2m ago");
  assert.equal(formatAge(5_000, 1_000), "0s ago");
  assert.equal(formatAge(0, 3 * 86_400_000), "3d ago");
});

test("summarize() gives min, median and max", () => {
  assert.deepEqual(summarize([3, 1, 2]), { min: 1, median: 2, max: 3 });
  assert.deepEqual(summarize([4, 1, 2, 10]), { min: 1, median: 3, max: 10 });
  assert.equal(summarize([]), undefined);
});

test("alignColumns() pads every column but the last, ignoring colour escapes", () => {
  const style = createStyle(true);
  const lines = alignColumns([[style.bold("A"), "10.0.0.5", "x"], ["Worker1", "1.2.3.4", "y"]]);
  assert.deepEqual(lines.map(stripAnsi), ["A        10.0.0.5  x", "Worker1  1.2.3.4   y"]);
  assert.ok(lines[0].startsWith(`${ESC}[1mA${ESC}[22m`), JSON.stringify(lines[0]));
});

test("colours: only on a TTY or with FORCE_COLOR, never with NO_COLOR", () => {
  assert.equal(colorEnabled(true, {}), true);
  assert.equal(colorEnabled(false, {}), false);
  assert.equal(colorEnabled(undefined, {}), false);
  assert.equal(colorEnabled(true, { NO_COLOR: "1" }), false);
  assert.equal(colorEnabled(true, { NO_COLOR: "" }), true, "an empty NO_COLOR counts as unset (no-color.org)");
  assert.equal(colorEnabled(false, { FORCE_COLOR: "1" }), true);
  assert.equal(colorEnabled(false, { FORCE_COLOR: "0" }), false);
  assert.equal(colorEnabled(true, { FORCE_COLOR: "1", NO_COLOR: "1" }), false);
  assert.equal(createStyle(false).green("ok"), "ok");
  assert.equal(createStyle(true).green("ok"), "\x1b[32mok\x1b[39m");
});

test("parseCommandArgs() reads options anywhere, shorts, repeats and --", () => {
  const options = {
    wait: { type: "string", short: "w", help: "" },
    json: { type: "boolean", help: "" },
    interface: { type: "string", multiple: true, help: "" },
  } as const;
  const parsed = parseCommandArgs(
    ["A", "--wait", "3s", "B", "--json", "--interface", "eth0,wlan0", "--interface=lo", "--", "--json"],
    options,
    "x",
  );
  assert.deepEqual(parsed.positionals, ["A", "B", "--json"]);
  assert.equal(parsed.values.wait, "3s");
  assert.equal(parsed.values.json, true);
  assert.deepEqual(listOption(parsed, "interface"), ["eth0", "wlan0", "lo"]);
  assert.equal(parseCommandArgs(["-w", "1"], options, "x").values.wait, "1");
});

test("parseCommandArgs() takes negative numbers as arguments, not options", () => {
  const parsed = parseCommandArgs(["Calc", "add", "-1", "-2.5", "-.5"], {}, "call");
  assert.deepEqual(parsed.positionals, ["Calc", "add", "-1", "-2.5", "-.5"]);
  const counted = parseCommandArgs(["--count", "-3"], { count: { type: "string", help: "" } }, "ping");
  assert.throws(() => integerOption(counted, "count", "ping", { min: 1, max: 10 }), /--count must be a whole number/);
});

test("parseCommandArgs() errors name the option and the command", () => {
  const options = { wait: { type: "string", example: "3s", help: "" }, json: { type: "boolean", help: "" } } as const;
  const cases: [string[], RegExp][] = [
    [["--foo"], /^unknown option '--foo' for 'ping'$/],
    [["-x"], /^unknown option '-x' for 'ping'$/],
    [["--wait"], /^option '--wait' needs a value \(e\.g\. --wait 3s\)$/],
    [["--wait", "--json"], /^option '--wait' needs a value/],
    [["--json=yes"], /^option '--json' takes no value \(got 'yes'\)$/],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseCommandArgs(args, options, "ping"), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, message);
      assert.equal(e.command, "ping");
      return true;
    }, args.join(" "));
  }
});

test("editDistance() counts a swap as one edit; closest() suggests only near misses", () => {
  assert.equal(editDistance("pnig", "ping"), 1);
  assert.equal(editDistance("serve", "serve"), 0);
  assert.equal(editDistance("kitten", "sitting"), 3);
  const names = COMMANDS.map((c) => c.name);
  assert.equal(closest("pnig", names), "ping");
  assert.equal(closest("dicsover", names), "discover");
  assert.equal(closest("xyz", names), undefined);
});

test("parseJsonArgument() parses JSON, revives __bytes__ and explains strings that need quotes", () => {
  assert.deepEqual(parseJsonArgument('{"a":[1,2]}', "argument 1", "call"), { a: [1, 2] });
  assert.equal(parseJsonArgument("-1.5", "argument 1", "call"), -1.5);
  assert.deepEqual(parseJsonArgument('{"__bytes__":"AAEC"}', "argument 1", "call"), new Uint8Array([0, 1, 2]));
  assert.throws(
    () => parseJsonArgument("hello", "argument 2", "call"),
    /argument 2 is not valid JSON: hello\. .*'"hello"'/,
  );
  assert.throws(() => parseJsonArgument("{oops", "argument 1", "call"), /argument 1 is not valid JSON/);
  assert.throws(() => parseJsonArgument('{"__bytes__":5}', "argument 1", "call"), /in argument 1 must hold base64/);
  assert.throws(() => parseJsonArgument("notjson", "--kwargs", "call"), /^UsageError: --kwargs is not valid JSON/);
  // One notation: the wire's. `$bytes` is an ordinary key.
  assert.deepEqual(parseJsonArgument('{"$bytes":"AAEC"}', "argument 1", "call"), { $bytes: "AAEC" });
});

test("toJson() renders binary as __bytes__ and undefined as null", () => {
  assert.equal(toJson({ b: new Uint8Array([0, 1, 2]) }, 0), '{"b":{"__bytes__":"AAEC"}}');
  assert.equal(toJson(undefined, 0), "null");
  assert.equal(toJson({ a: 1 }, 2), '{\n  "a": 1\n}');
});

test("usedTransport() reads the transport from counters, not from the flag", () => {
  const zero = { udp: 0, tcp: 0, retried: 0 };
  assert.equal(usedTransport(zero, { udp: 0, tcp: 1, retried: 0 }, "auto"), "tcp");
  assert.equal(usedTransport(zero, { udp: 1, tcp: 0, retried: 0 }, "tcp"), "udp");
  assert.equal(usedTransport(zero, { udp: 1, tcp: 0, retried: 1 }, "auto"), "udp→tcp");
  assert.equal(usedTransport(zero, zero, "auto"), "auto");
});

test("describeError() gives one line with the error type", () => {
  assert.equal(describeError(new RangeError("bad\n  value")), "RangeError: bad value");
  assert.equal(describeError(new Error("plain")), "plain");
  assert.equal(describeError("text"), "text");
});

test("every command's help lists each of its options, and --help exits 0", async () => {
  const style = createStyle(false);
  for (const command of COMMANDS) {
    const text = commandHelp(command, style);
    assert.match(text, new RegExp(`^Usage: peerlink ${command.name}`));
    for (const name of Object.keys(command.options)) assert.ok(text.includes(`--${name}`), `${command.name} --${name}`);
    for (const asking of [[command.name, "--help"], [command.name, "help"]]) {
      const result = await runMain(asking);
      assert.equal(result.code, EXIT.OK, asking.join(" "));
      assert.equal(result.stdout, text, asking.join(" "));
      assert.equal(result.stderr, "");
    }
  }
});

test("main(): --version prints the version from src/version.ts", async () => {
  for (const flag of ["--version", "-V"]) {
    const result = await runMain([flag]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `peerlink ${VERSION}\n`);
  }
});

test("main(): top-level help lists the commands and the exit codes", async () => {
  const result = await runMain(["--help"]);
  assert.equal(result.code, 0);
  for (const command of COMMANDS) assert.match(result.stdout, new RegExp(`^  ${command.name} `, "m"));
  assert.match(result.stdout, /130 +interrupted/);
  assert.deepEqual(await runMain(["help", "ping"]), { code: 0, stdout: commandHelp(COMMANDS[1], style()), stderr: "" });
});

function style() {
  return createStyle(false);
}

test("main(): usage errors exit 2 with one line pointing at the right help", async () => {
  const cases: [string[], string][] = [
    [["ping", "--foo"], "peerlink: unknown option '--foo' for 'ping'. See 'peerlink ping --help'.\n"],
    [["pnig"], "peerlink: unknown command 'pnig'. Did you mean 'ping'? See 'peerlink --help'.\n"],
    [["ping"], "peerlink: 'ping' needs the NAME of a peer. See 'peerlink ping --help'.\n"],
    [
      ["discover", "--wait", "soon"],
      "peerlink: invalid duration 'soon' for --wait: use e.g. 3s, 500ms, 2m or a number of seconds. See 'peerlink discover --help'.\n",
    ],
    [
      ["call", "X", "f", "oops"],
      `peerlink: argument 1 is not valid JSON: oops. To pass the string, quote it: '"oops"'. See 'peerlink call --help'.\n`,
    ],
    [
      ["call", "X", "f", "--kwargs", "notjson"],
      `peerlink: --kwargs is not valid JSON: notjson. See 'peerlink call --help'.\n`,
    ],
    [
      ["call", "X", "f", "--kwargs", "[1]"],
      `peerlink: --kwargs must be a JSON object, e.g. --kwargs '{"x":1}'. See 'peerlink call --help'.\n`,
    ],
    [
      ["ping", "X", "--transport", "smoke"],
      "peerlink: --transport must be one of auto, udp, tcp (got 'smoke'). See 'peerlink ping --help'.\n",
    ],
    [
      ["serve", "--name"],
      "peerlink: option '--name' needs a value (e.g. --name NodeB). See 'peerlink serve --help'.\n",
    ],
    [
      ["discover", "--realm", "a", "--secret", "b"],
      "peerlink: give --realm or --secret, not both (a secret derives the realm). See 'peerlink discover --help'.\n",
    ],
    [
      ["ping", "ALL"],
      "peerlink: 'ping' takes one peer; to ping every node use 'peerlink call ALL __ping__'. See 'peerlink ping --help'.\n",
    ],
    [["--frobnicate"], "peerlink: unknown option '--frobnicate' (before the command). See 'peerlink --help'.\n"],
  ];
  for (const [argv, stderr] of cases) {
    const result = await runMain(argv, { env: { NO_COLOR: "1" } });
    assert.equal(result.code, EXIT.USAGE, argv.join(" "));
    assert.equal(result.stderr, stderr);
    assert.equal(result.stdout, "");
  }
});

test("main(): no command prints the help on stderr and exits 2", async () => {
  const result = await runMain([]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /Usage: peerlink <command>/);
  assert.match(result.stderr, /peerlink: no command given\. See 'peerlink --help'\.\n$/);
});

test("main(): colours on a TTY, none with NO_COLOR or when piped", async () => {
  const tty = await runMain(["--help"], { isTTY: true });
  assert.ok(tty.stdout.includes(`${ESC}[1m`), "bold on a terminal");
  const noColor = await runMain(["--help"], { isTTY: true, env: { NO_COLOR: "1" } });
  assert.ok(!noColor.stdout.includes(ESC), "NO_COLOR");
  const piped = await runMain(["--help"], { isTTY: false });
  assert.ok(!piped.stdout.includes(ESC), "piped");
  assert.equal(stripAnsi(tty.stdout), piped.stdout);
});

test("serve built-ins: echo, info and the demo functions check their input", async () => {
  const started = performance.now() - 2500;
  const basics = basicHandlers({ name: "NodeB", functions: () => ["echo", "info"] }, started);
  assert.deepEqual(await basics.echo({ a: [1] }), { a: [1] });
  const info = await basics.info() as Record<string, unknown>;
  assert.equal(info.name, "NodeB");
  assert.equal(info.version, VERSION);
  assert.ok(["deno", "bun", "node"].includes(info.runtime as string));
  assert.ok((info.uptime as number) >= 2.4 && (info.uptime as number) < 60, String(info.uptime));
  const demo = demoHandlers();
  assert.equal(await demo.add(2, 3), 5);
  assert.throws(() => demo.add("2", 3), /two numbers/);
  assert.throws(() => demo.bytes(1e9), /bytes\(n\)/);
  assert.deepEqual(await demo.bytes(4), demoPattern(4));
  const sum = await demo.checksum(new Uint8Array([1, 2, 3])) as { bytes: number; sha256: string };
  assert.equal(sum.bytes, 3);
  assert.equal(sum.sha256, "039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81");
  await assert.rejects(async () => await demo.checksum("text"), /Uint8Array/);
  assert.throws(() => demo.fail("boom"), /boom/);
});
