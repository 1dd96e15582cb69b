/** A WHEP/WHIP request that cannot be served: the HTTP status, headers to add, and a message saying what to do. */
export class WhepError extends Error {
  override readonly name = 'WhepError';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}
