import { Lan, memoryLogger } from "./mdns_harness.ts";
import { Mdns } from "../src/mdns/mod.ts";
import { decodeMessage } from "../src/mdns/packet.ts";
import { mulberry32 } from "../src/testing/prng.ts";
const seed = Number(process.argv[2] ?? 1), watchI = Number(process.argv[3] ?? 7), watchJ = Number(process.argv[4] ?? 4);
const lan = new Lan({ seed, loss: 0.3, delayMs: [1, 20] });
const n = 8;
const seen = new Map<number, Set<string>>();
const log: string[] = [];
const wrap = (i: number) => {
  const host = lan.host(i);
  if (i !== watchI && i !== watchJ) return host;
  return { ...host, name: "w", networkInterfaces: () => host.networkInterfaces(), connect: host.connect.bind(host), listen: host.listen.bind(host),
    bindDatagram: async (o: any, cb: any) => { const s = await host.bindDatagram(o, (d: any) => { const r = decodeMessage(d.data); if (r.ok) { const m = r.message; const rel = (m.answers.concat(m.additionals)).filter(r => r.name.includes(`Node${watchJ}`) || (r.type==="PTR" && String(r.data).includes(`Node${watchJ}`))); log.push(`${Math.round(lan.clock.now()-1e6)} node${i} recv from ${d.address} ${m.response?"R":"Q"} ${m.questions.map(q=>q.type+" "+q.name).join(";")} KA:${m.answers.length} rel:${rel.map(r=>r.type+"/"+r.ttl).join(",")}`);} cb(d); });
      const send = s.send.bind(s); (s as any).send = (b: Uint8Array, a: string, p: number) => { const r = decodeMessage(b); if (r.ok) log.push(`${Math.round(lan.clock.now()-1e6)} node${i} SEND ${r.message.response?"R":"Q"} ${r.message.questions.map(q=>q.type+" "+q.name).join(";")} ans:${r.message.answers.map(x=>x.type+" "+x.name).join(",")}`); return send(b, a, p); }; return s; } } as any;
};
for (let i = 1; i <= n; i++) {
  const node = new Mdns({ runtime: wrap(i), clock: lan.clock, random: mulberry32(seed * 1000 + i * 7 + lan.nodes.length), logger: memoryLogger(), pollIntervalMs: 0, maxQueryIntervalMs: 60000 });
  await node.start(); lan.nodes.push(node);
  const set = new Set<string>(); seen.set(i, set);
  node.browse("_peerlink._tcp", { onUp: (s) => { set.add(s.name); if (i===watchI) log.push(`${Math.round(lan.clock.now()-1e6)} UP ${s.name}`); }, onDown: (s, r) => { set.delete(s.name); if (i===watchI) log.push(`DOWN ${s.name} ${r}`);} });
  node.publish({ instance: `Node${i}`, type: "_peerlink._tcp", port: 7000 + i }).catch(()=>{});
  await lan.advance(700);
}
await lan.advance(120_000);
console.log([...seen.get(watchI)!].sort().join(","));
console.log(log.filter(l => l.includes("UP") || l.includes("DOWN") || l.includes(`node${watchI} SEND`) || l.includes(`node${watchJ} SEND`) || l.includes(`node${watchI} recv from 10.0.0.${watchJ}`)|| l.includes(`node${watchJ} recv from 10.0.0.${watchI}`)).join("\n"));
await lan.close();
