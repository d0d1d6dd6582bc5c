import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../src/testing/fake_clock.ts";

test("FakeClock.advance() fires due timers in time order and leaves later ones", async () => {
  const clock = new FakeClock();
  const fired: string[] = [];
  clock.setTimeout(() => fired.push(`c@${clock.now()}`), 300);
  clock.setTimeout(() => fired.push(`a@${clock.now()}`), 100);
  clock.setTimeout(() => fired.push(`b@${clock.now()}`), 200);
  clock.setTimeout(() => fired.push("late"), 1000);
  await clock.advance(300);
  assert.deepEqual(fired, ["a@100", "b@200", "c@300"]);
  assert.equal(clock.now(), 300);
  assert.equal(clock.pending(), 1);
  assert.equal(clock.nextDue(), 1000);
  await clock.advance(700);
  assert.deepEqual(fired.at(-1), "late");
  assert.equal(clock.pending(), 0);
  assert.equal(clock.nextDue(), undefined);
});

test("FakeClock fires timers due at the same time in scheduling order", async () => {
  const clock = new FakeClock(5000);
  const fired: number[] = [];
  for (let i = 0; i < 5; i++) clock.setTimeout(() => fired.push(i), 10);
  await clock.advance(10);
  assert.deepEqual(fired, [0, 1, 2, 3, 4]);
  assert.equal(clock.now(), 5010);
});

test("FakeClock.advance() fires timers scheduled by fired timers within the window only", async () => {
  const clock = new FakeClock();
  const fired: number[] = [];
  clock.setTimeout(() => {
    fired.push(clock.now());
    clock.setTimeout(() => fired.push(clock.now()), 50); // due 150: inside
    clock.setTimeout(() => fired.push(clock.now()), 500); // due 600: outside
  }, 100);
  await clock.advance(200);
  assert.deepEqual(fired, [100, 150]);
  assert.equal(clock.pending(), 1);
  await clock.advance(400);
  assert.deepEqual(fired, [100, 150, 600]);
});

test("FakeClock.advance() lets promise chains run between timers", async () => {
  const clock = new FakeClock();
  const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
  const steps: number[] = [];
  const task = (async () => {
    for (let i = 0; i < 3; i++) {
      await sleep(100);
      await Promise.resolve(); // a few extra hops before the next timer is scheduled
      await Promise.resolve();
      steps.push(clock.now());
    }
    return "done";
  })();
  await clock.advance(250);
  assert.deepEqual(steps, [100, 200]);
  await clock.advance(50);
  assert.deepEqual(steps, [100, 200, 300]);
  assert.equal(await task, "done");
});

test("FakeClock.clearTimeout() cancels, ignores unknown ids, and pending() counts", async () => {
  const clock = new FakeClock();
  let fired = 0;
  const keep = clock.setTimeout(() => fired++, 10);
  const drop = clock.setTimeout(() => fired += 100, 10);
  assert.equal(clock.pending(), 2);
  clock.clearTimeout(drop);
  clock.clearTimeout(drop);
  clock.clearTimeout("nonsense");
  clock.clearTimeout(undefined);
  assert.equal(clock.pending(), 1);
  await clock.advance(10);
  assert.equal(fired, 1);
  clock.clearTimeout(keep); // already fired: ignored
  assert.equal(clock.pending(), 0);
});

test("FakeClock.advance(0) fires zero-delay timers; negative and NaN delays count as 0", async () => {
  const clock = new FakeClock();
  const fired: string[] = [];
  clock.setTimeout(() => fired.push("zero"), 0);
  clock.setTimeout(() => fired.push("negative"), -5);
  clock.setTimeout(() => fired.push("nan"), NaN);
  await clock.advance(0);
  assert.deepEqual(fired, ["zero", "negative", "nan"]);
  assert.equal(clock.now(), 0);
});

test("FakeClock.advance() rejects a negative or non-finite step", async () => {
  const clock = new FakeClock();
  await assert.rejects(clock.advance(-1), RangeError);
  await assert.rejects(clock.advance(Infinity), /finite number >= 0/);
  assert.equal(clock.now(), 0);
});

test("FakeClock.runAll() fires chained timers and returns the count", async () => {
  const clock = new FakeClock();
  let chain = 0;
  const next = () => {
    if (++chain < 4) clock.setTimeout(next, 1000);
  };
  clock.setTimeout(next, 1000);
  clock.setTimeout(() => {}, 2500);
  assert.equal(await clock.runAll(), 5);
  assert.equal(chain, 4);
  assert.equal(clock.now(), 4000);
  assert.equal(clock.pending(), 0);
});

test("FakeClock.runAll() and advance() stop a self-rescheduling timer at the limit", async () => {
  const clock = new FakeClock();
  let count = 0;
  const forever = () => {
    count++;
    clock.setTimeout(forever, 0);
  };
  clock.setTimeout(forever, 0);
  await assert.rejects(clock.runAll(50), /runAll: still 1 timers pending after firing 50/);
  assert.equal(count, 50);
  await assert.rejects(clock.advance(10, 20), /more than 20 timers fell due/);
  assert.equal(count, 70);
  assert.equal(clock.pending(), 1);
});

test("FakeClock.advance() rejects with a timer's error and can carry on", async () => {
  const clock = new FakeClock();
  const fired: number[] = [];
  clock.setTimeout(() => {
    throw new Error("boom");
  }, 10);
  clock.setTimeout(() => fired.push(clock.now()), 20);
  await assert.rejects(clock.advance(100), /boom/);
  assert.equal(clock.now(), 10);
  assert.deepEqual(fired, []);
  await clock.advance(90);
  assert.deepEqual(fired, [20]);
  assert.equal(clock.now(), 100);
});

test("FakeClock refuses overlapping advance() calls", async () => {
  const clock = new FakeClock();
  clock.setTimeout(() => {}, 10);
  const first = clock.advance(10);
  await assert.rejects(clock.advance(5), /another advance\(\) or runAll\(\) is still running/);
  await first;
  assert.equal(clock.now(), 10);
  await clock.advance(5); // usable again afterwards
  assert.equal(clock.now(), 15);
});

test("FakeClock fires thousands of timers, some cleared, in due order", async () => {
  const clock = new FakeClock();
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const expected: Array<[number, number]> = [];
  const fired: Array<[number, number]> = [];
  for (let i = 0; i < 5000; i++) {
    const due = Math.floor(random() * 1000);
    const id = clock.setTimeout(() => fired.push([due, i]), due);
    if (random() < 0.3) clock.clearTimeout(id);
    else expected.push([due, i]);
  }
  assert.equal(clock.pending(), expected.length);
  expected.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  await clock.advance(500);
  assert.deepEqual(fired, expected.filter(([due]) => due <= 500));
  await clock.advance(500);
  assert.deepEqual(fired, expected);
  assert.equal(clock.pending(), 0);
});
