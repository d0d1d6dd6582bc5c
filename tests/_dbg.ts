import { Lan } from "./mdns_harness.ts";
const runFor = Number(process.argv[2] ?? 30000), cap = Number(process.argv[3] ?? 3600000);
let fails = 0;
for (let seed = 1; seed <= 40; seed++) {
  const lan = new Lan({ seed, loss: 0.3, delayMs: [1, 20] });
  const n = 8;
  const seen = new Map<number, Set<string>>();
  const pubs: Promise<any>[] = [];
  for (let i = 1; i <= n; i++) {
    const node = await lan.node(i, { maxQueryIntervalMs: cap });
    const set = new Set<string>(); seen.set(i, set);
    node.browse("_peerlink._tcp", { onUp: (s) => set.add(s.name), onDown: (s) => set.delete(s.name) });
    pubs.push(node.publish({ instance: `Node${i}`, type: "_peerlink._tcp", port: 7000 + i }).then(p => p.instance, e => String(e)));
    await lan.advance(700);
  }
  await lan.advance(runFor);
  const miss: string[] = [];
  for (const [i, set] of seen) for (let j = 1; j <= n; j++) if (j !== i && !set.has(`Node${j}`)) miss.push(`${i}-${j}`);
  const names = await Promise.all(pubs);
  if (miss.length || new Set(names).size !== n) { fails++; console.log(seed, miss.join(" "), names.join(",")); }
  await lan.close();
}
console.log("fails", fails);
