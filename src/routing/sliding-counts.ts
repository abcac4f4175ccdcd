// Two counts over a sliding time window, kept in ten slots of a tenth of the window each (the
// way Hystrix and resilience4j keep their rolling windows): O(1) per event, a fixed few numbers
// of memory, and counts that fall out of the window as time passes without any timer.
const SLOTS = 10;

export class SlidingCounts {
  private readonly slotMs: number;
  private readonly slots = Array.from({ length: SLOTS }, () => ({ start: -Infinity, a: 0, b: 0 }));

  constructor(windowMs: number, private readonly now: () => number) {
    this.slotMs = Math.max(1, windowMs / SLOTS);
  }

  /** Adds to the first count (`a`) or the second (`b`) now. */
  add(which: 'a' | 'b'): void {
    const index = Math.floor(this.now() / this.slotMs);
    const slot = this.slots[index % SLOTS]!;
    const start = index * this.slotMs;
    if (slot.start !== start) {
      slot.start = start;
      slot.a = 0;
      slot.b = 0;
    }
    slot[which]++;
  }

  /** Both counts over the window ending now. */
  totals(): { a: number; b: number } {
    const oldest = (Math.floor(this.now() / this.slotMs) - SLOTS + 1) * this.slotMs;
    let a = 0;
    let b = 0;
    for (const s of this.slots) {
      if (s.start >= oldest) {
        a += s.a;
        b += s.b;
      }
    }
    return { a, b };
  }
}
