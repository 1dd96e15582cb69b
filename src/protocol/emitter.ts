/** Any listener: `never[]` accepts every parameter list (parameters are contravariant). */
type Listener = (...args: never[]) => void;

/** A minimal typed event emitter, the same in Node and the browser. `on` returns the unsubscribe closure. */
export class Emitter<Events extends { [K in keyof Events]: Listener }> {
  private readonly listeners = new Map<keyof Events, Set<Listener>>();

  on<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  once<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    const off = this.on(event, ((...args: Parameters<Events[K]>) => {
      off();
      listener(...args);
    }) as Events[K]);
    return off;
  }

  protected emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    for (const l of [...(this.listeners.get(event) ?? [])]) (l as (...a: Parameters<Events[K]>) => void)(...args);
  }

  protected removeAllListeners(): void {
    this.listeners.clear();
  }
}
