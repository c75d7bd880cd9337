/**
 * Every refusal of the protocol core carries a short, stable error kind: the same names the test vectors
 * and docs/protocol.md use (`decrypt`, `verify`, `truncated`, `bad_date`, …).
 */
export class ProtocolError extends Error {
  constructor(
    readonly kind: string,
    message?: string,
  ) {
    super(message ?? kind);
    this.name = "ProtocolError";
  }
}

/** Throws `ProtocolError(kind)` unless `condition` holds. */
export function ensure(condition: boolean, kind: string, message?: string): asserts condition {
  if (!condition) throw new ProtocolError(kind, message);
}
