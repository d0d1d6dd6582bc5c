import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CAPABILITIES_TXT_KEY,
  formatCapabilities,
  LOCAL_CAPABILITIES,
  NO_CAPABILITIES,
  parseCapabilities,
} from "../src/wire/capabilities.ts";

test("capabilities render as a TXT value and parse back", () => {
  assert.equal(CAPABILITIES_TXT_KEY, "ext");
  assert.equal(formatCapabilities(LOCAL_CAPABILITIES), "persist,bin,dedupe,stream");
  assert.deepEqual(parseCapabilities(formatCapabilities(LOCAL_CAPABILITIES)), { ...LOCAL_CAPABILITIES });
  assert.equal(formatCapabilities(NO_CAPABILITIES), "");
});

test("a missing TXT entry means a Python peer without extensions", () => {
  assert.deepEqual(parseCapabilities(undefined), { persist: false, binary: false, dedupe: false, stream: false });
  assert.deepEqual(parseCapabilities(null), { persist: false, binary: false, dedupe: false, stream: false });
  assert.deepEqual(parseCapabilities(""), { persist: false, binary: false, dedupe: false, stream: false });
});

test("parsing ignores unknown tokens, spaces and case, and accepts raw TXT bytes", () => {
  assert.deepEqual(parseCapabilities(" BIN , zstd,persist "), {
    persist: true,
    binary: true,
    dedupe: false,
    stream: false,
  });
  assert.deepEqual(parseCapabilities(new TextEncoder().encode("dedupe")), {
    persist: false,
    binary: false,
    dedupe: true,
    stream: false,
  });
  assert.equal(parseCapabilities("persist,stream").stream, true);
});
