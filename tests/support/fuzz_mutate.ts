/**
 * Mutations of a DNS message for the fuzz tests (the mDNS decoder, tests/mdns_fuzz.test.ts; the
 * TSIG verifier, tests/dnssd_tsig.test.ts): bit flips, random bytes, truncation, inserted junk,
 * compression pointers, huge record counts, duplicated slices, extreme lengths.
 */

/**
 * One to four mutations of `seed`, drawn from `random`.
 * @param random a seeded PRNG (`mulberry32`)
 * @param seed a real message
 * @returns the mutated copy (at most 9100 bytes)
 */
export function mutate(random: () => number, seed: Uint8Array): Uint8Array {
  const bytes = Array.from(seed);
  const n = 1 + Math.floor(random() * 4);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(random() * Math.max(1, bytes.length));
    switch (Math.floor(random() * 8)) {
      case 0: // flip a bit
        bytes[at] ^= 1 << Math.floor(random() * 8);
        break;
      case 1: // random byte
        bytes[at] = Math.floor(random() * 256);
        break;
      case 2: // truncate
        bytes.length = at;
        break;
      case 3: // insert junk
        bytes.splice(at, 0, ...Array.from({ length: 1 + Math.floor(random() * 8) }, () => Math.floor(random() * 256)));
        break;
      case 4: // a compression pointer somewhere
        bytes[at] = 0xc0 | Math.floor(random() * 4);
        bytes[at + 1] = Math.floor(random() * 256);
        break;
      case 5: // huge record counts
        bytes[4 + 2 * Math.floor(random() * 4)] = 0xff;
        break;
      case 6: // duplicate a slice
        bytes.splice(at, 0, ...bytes.slice(at, at + Math.floor(random() * 40)));
        break;
      default: // extreme lengths (label, rdlength, TXT string)
        bytes[at] = random() < 0.5 ? 0xff : 0x3f;
    }
  }
  const out = new Uint8Array(Math.min(bytes.length, 9100));
  for (let i = 0; i < out.length; i++) out[i] = bytes[i] & 0xff;
  return out;
}
