// The demo's embedded lookup service, in-process.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startLookupService } from "../../demo/lookup_server.ts";

async function lookUp(url: string, ids: number[]): Promise<void> {
  await Promise.all(ids.map(async (id) => {
    const response = await fetch(`${url}/users/${id}`);
    assert.equal((await response.json()).id, id);
  }));
}

test("startLookupService() serves serviceSlots requests at once and queues the rest", async () => {
  const service = startLookupService({
    latency: 200,
    jitter: 0,
    failureRate: 0,
    serviceSlots: 2,
  });
  try {
    await lookUp(service.url, [1, 2, 3, 4, 5, 6]);
    assert.equal(service.stats.requests, 6);
    assert.equal(service.stats.peakConcurrency, 2);
    assert.ok(service.stats.peakQueued >= 1, `${service.stats.peakQueued}`);
    assert.ok(service.stats.peakQueued <= 4, `${service.stats.peakQueued}`);
  } finally {
    await service.close();
  }
});

test("startLookupService() queues nothing without serviceSlots", async () => {
  const service = startLookupService({
    latency: 200,
    jitter: 0,
    failureRate: 0,
  });
  try {
    await lookUp(service.url, [1, 2, 3, 4]);
    assert.equal(service.stats.peakQueued, 0);
    assert.ok(
      service.stats.peakConcurrency > 2,
      `${service.stats.peakConcurrency}`,
    );
  } finally {
    await service.close();
  }
});
