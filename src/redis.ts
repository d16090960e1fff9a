/**
 * Scale-out on Redis Streams: many workers, in many processes or machines,
 * share one input stream through a consumer group, each running an
 * `AsyncIOTransformStream`, and commit each input's outputs exactly once
 * through crashes and stalls.
 *
 * It has no dependencies: every function takes a `send(args)` that sends one
 * command with any client, such as node-redis's `sendCommand`, ioredis's
 * `call` or Bun's `redis.send`.
 *
 * @example One worker with Bun's built-in client
 * ```ts ignore
 * import { RedisClient } from "bun";
 * import { redisWorker } from "@async-io/async-io/redis";
 *
 * const redis = new RedisClient("redis://127.0.0.1:6379");
 * const reads = new RedisClient("redis://127.0.0.1:6379");
 * const worker = redisWorker({
 *   send: ([command, ...args]) => redis.send(command!, args),
 *   blockingSend: ([command, ...args]) => reads.send(command!, args),
 *   input: "orders",
 *   output: "orders:enriched",
 *   group: "enrich",
 *   consumer: `worker-${process.pid}`,
 *   fn: ({ id, fields }) => ({ input: id, total: String(Number(fields.amount) * 2) }),
 * });
 * process.on("SIGTERM", () => worker.stop());
 * await worker.done;
 * ```
 *
 * @module
 */
export { redisWorker } from "./_redis_worker.ts";
export type {
  RedisWorker,
  RedisWorkerOptions,
  RedisWorkerStats,
} from "./_redis_worker_options.ts";
export { redisStreamSource } from "./_redis_source.ts";
export type { RedisStreamSourceOptions } from "./_redis_source.ts";
export { redisStreamSink } from "./_redis_sink.ts";
export type { RedisStreamSinkOptions } from "./_redis_sink.ts";
export { redisPartition } from "./_redis_partitions.ts";
export type { RedisCommit } from "./_redis_commit.ts";
export type {
  RedisFields,
  RedisSend,
  RedisStreamEntry,
} from "./_redis_reply.ts";
