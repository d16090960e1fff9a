// What the README's TypeScript blocks take as given: the names they use
// without declaring them (a source `ids`, a `lookup` function, a `client`),
// as globals that a block's own declarations and imports shadow.
// scripts/readme_code_check.ts type-checks every block with these; nothing
// here runs. A .d.ts, so that `deno task check` leaves these globals out of
// the project's own type check.
import type {
  AsyncBatchFunction as Batch,
  AsyncIOState,
  AsyncIOTransformStream as Stream,
  CallContext,
} from "@async-io/async-io";

declare global {
  // Imports that a short block leaves out.
  const AsyncIOTransformStream: typeof Stream;
  type AsyncBatchFunction<I, O> = Batch<I, O>;

  // Sources, sinks and the functions they call.
  const ids: ReadableStream<string>;
  const sink: WritableStream<unknown>;
  const api: string;
  const url: string;
  interface User {
    id: string;
    name: string;
  }
  const lookup: (id: string, context: CallContext) => Promise<User>;
  const callPaidApi: (id: string) => Promise<User>;
  const updateAccount: (event: { accountId: string }) => Promise<void>;

  // Event time: merges into the global Event interface, which a module
  // cannot redeclare as a type.
  interface Event {
    userId: string;
  }
  interface Enriched {
    userId: string;
    user: User;
  }
  const enrich: (event: Event) => Promise<Enriched>;
  const saveState: (id: number, state: AsyncIOState<Event>) => void;

  // Error policies.
  interface Row {
    id: string;
    missing?: boolean;
  }
  const fetchRow: (id: string) => Promise<Row>;
  class NotFound extends Error {}
  class NotFoundError extends Error {}
  const deadLetters: { id: string; error: string }[];

  // A Redis-like client.
  const client: {
    connect(): Promise<void>;
    get(key: string, options: { signal: AbortSignal }): Promise<string | null>;
    mGet(keys: string[]): Promise<(string | null)[]>;
    quit(): Promise<void>;
  };
  interface Order {
    orderId: string;
    customerId: string;
  }
  interface EnrichedOrder extends Order {
    name: string;
  }
  const keyOf: (order: Order) => string;
}
