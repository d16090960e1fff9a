// The compose fuzzer's outcome model (compose_property_test.ts): what the
// consumer got, read back into which inputs came out whole, and checked
// against the rules every output obeys whatever the script did.
import assert from "node:assert/strict";
import { CheckpointBarrier, Watermark } from "../mod.ts";
import type { ComposeRun } from "./_compose_driver.ts";
import { type Out, outOf } from "./_compose_model.ts";

/**
 * Inputs whose every output the consumer got, and chunk order checks: one
 * input's outputs stay together, in order, and no barrier or watermark splits
 * them; each barrier's state completes what came out before it; the order
 * rules of the scenario's `order` hold.
 */
export function analyse(r: ComposeRun, where: string): {
  complete: Set<number>;
  partial: Map<number, number>;
} {
  const { complete, partial } = wholeOutputs(r, where);
  checkOrder(r, where, complete);
  return { complete, partial };
}

/** Which inputs came out whole, checking that no output stands apart. */
function wholeOutputs(r: ComposeRun, where: string) {
  const log = r.log;
  const complete = new Set<number>();
  const partial = new Map<number, number>();
  let open: Out | undefined;
  const seen: number[] = [];
  for (const chunk of r.got) {
    const o = outOf(chunk);
    if (o instanceof CheckpointBarrier) {
      assert.ok(open === undefined, `${where}: barrier splits an input`);
      const before = r.acceptedBefore.get(o.id);
      const state = log.checkpoints.get(o.id);
      if (before !== undefined && state !== undefined) {
        const sorted = [...seen, ...state].toSorted((a, b) => a - b);
        const expected = before.filter((n) =>
          seen.includes(n) || state.includes(n) ||
          !(log.finishedInputs.has(n) || log.zeroOutputs.has(n))
        ).toSorted((a, b) => a - b);
        assert.deepEqual(
          sorted.filter((n, i) => sorted.indexOf(n) === i),
          expected,
          `${where}: barrier ${o.id}: emitted ${seen}, state ${state}`,
        );
        assert.equal(
          sorted.length,
          new Set(sorted).size,
          `${where}: barrier ${o.id}: an input both emitted and in its state`,
        );
      }
      continue;
    }
    if (o instanceof Watermark) {
      assert.ok(open === undefined, `${where}: watermark splits an input`);
      continue;
    }
    if (open !== undefined) {
      assert.equal(o.in, open.in, `${where}: outputs of ${open.in} split`);
      assert.equal(o.j, open.j + 1, `${where}: outputs of ${o.in} in order`);
    } else {
      assert.equal(o.j, 0, `${where}: outputs of ${o.in} start at 0`);
      assert.ok(!complete.has(o.in), `${where}: ${o.in} emitted twice`);
      seen.push(o.in);
    }
    assert.ok(
      !(o.from === "call" && log.timedOutInputs.has(o.in)),
      `${where}: ${o.in} timed out, yet its call's result came out`,
    );
    if (o.j + 1 === o.of) {
      complete.add(o.in);
      partial.delete(o.in);
      open = undefined;
    } else {
      partial.set(o.in, o.j + 1);
      open = o;
    }
  }
  return { complete, partial };
}

/**
 * The order rules: input order (ordered), per-key order (key-ordered), and
 * no record crosses a watermark.
 */
function checkOrder(r: ComposeRun, where: string, complete: Set<number>): void {
  const log = r.log;
  // Order: positions in the offered sequence.
  const emitted = r.got.map(outOf).filter((o) =>
    !(o instanceof CheckpointBarrier)
  ) as (Out | Watermark)[];
  const posOf = (o: Out | Watermark) =>
    o instanceof Watermark
      ? r.offered.findIndex((c) =>
        c instanceof Watermark && c.timestamp === o.timestamp
      )
      : r.offered.indexOf(o.in);
  let lastWatermark = -1;
  const lastOfKey = new Map<number, number>();
  let last = -1;
  for (const o of emitted) {
    const p = posOf(o);
    if (r.s.order === "ordered") {
      assert.ok(p >= last, `${where}: ${JSON.stringify(o)} out of order`);
      last = p;
    }
    if (o instanceof Watermark) {
      // Every record before it was emitted before it (or dropped).
      for (let i = 0; i < p; i++) {
        const c = r.offered[i];
        if (typeof c !== "number") continue;
        if (log.finishedInputs.has(c) || log.zeroOutputs.has(c)) continue;
        assert.ok(
          complete.has(c) &&
            emitted.findIndex((e) => !(e instanceof Watermark) && e.in === c) <
              emitted.indexOf(o),
          `${where}: ${c} not out before watermark ${o.timestamp}`,
        );
      }
      lastWatermark = p;
    } else {
      assert.ok(
        p > lastWatermark,
        `${where}: ${o.in} overtook a watermark`,
      );
      if (r.s.order === "key-ordered" && o.j === 0) {
        const k = log.keyOf(o.in);
        assert.ok(
          (lastOfKey.get(k) ?? -1) < p,
          `${where}: ${o.in} out of order in its key`,
        );
        lastOfKey.set(k, p);
      }
    }
  }
}
