// How a marker is known by every copy of this library in a program (two
// versions in one dependency graph, or a copy in another realm): by a brand
// under a key from the global symbol registry, which all copies and realms
// share, rather than by its class. The brand sits on each marker class's
// prototype and is read as any property is (through a Proxy's `get` trap,
// which may throw). The key carries the brand's version: a marker of a later,
// incompatible shape takes another key, and is a record here.

/** The key of the brand; never change it, other copies read it. */
export const MARKER_BRAND: unique symbol = Symbol.for(
  "@async-io/async-io.marker.v1",
);

export const WATERMARK_BRAND = "watermark";
export const BARRIER_BRAND = "checkpoint-barrier";

/** Brands a marker class's prototype, for good. */
export function brand(prototype: object, value: string): void {
  Object.defineProperty(prototype, MARKER_BRAND, { value });
}

/**
 * The brand `value` carries, if it is an object; throws what a Proxy's trap
 * throws. A read of the property, not a walk of the prototypes: measured,
 * Object.getPrototypeOf() cost 5-10% of the throughput of object inputs.
 */
export function brandOf(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return undefined;
  return (value as { [MARKER_BRAND]?: unknown })[MARKER_BRAND];
}

/**
 * `instanceof` for the marker class `own`: the brand for `own` itself, and
 * the prototype chain, as usual, for a subclass (`self`, the right-hand side).
 */
export function hasMarkerInstance(
  self: unknown,
  own: unknown,
  value: unknown,
  brandValue: string,
): boolean {
  if (self !== own) {
    return Function.prototype[Symbol.hasInstance].call(self, value);
  }
  return brandOf(value) === brandValue;
}
