/**
 * Budgets for packet buffers HELD beyond one batch (frames parked while a next hop resolves, and
 * any later holder). A frame passing through the switch borrows its slot for microseconds; a
 * held frame keeps it for up to seconds, so held slots are what can starve the arena. Every
 * hold is charged to a chain of budgets — the holder's own (a router interface, i.e. the
 * tenant port the frame came from), its owner's (the router), and the arena's — and is refused
 * when any of them is at its limit, or when taking it would leave the arena fewer free slots
 * than its reserve (kept for the ingress of every other port). OVS bounds its upcall queues per
 * port and netfilter its conntrack per zone for the same reason: one tenant's backlog must not
 * drop another's frames.
 *
 * Counting is three integer compares and increments; nothing allocates.
 */
/** What a root budget reads of its arena (structural: the arena owns its budget, not the reverse). */
export interface FreeCount {
  /** Free slots of the class ordinary frames use (the arena's small slots). */
  readonly availableSmall: number;
  readonly smallSlots: number;
}

export class HoldBudget {
  /** Slots held now under this budget (including its children). */
  used = 0;
  /** Holds refused because of this budget's own limit (or, on the root, the arena's reserve). */
  refused = 0;

  constructor(
    readonly name: string,
    /** Slots this budget may hold at once. */
    public limit: number,
    /** The budget this one is also charged to (null: the arena's root budget). */
    readonly parent: HoldBudget | null,
    /** Root only: the arena whose free count must stay above `reserve`. */
    private readonly arena: FreeCount | null = null,
    /** Root only: free slots a hold may never take. */
    public reserve = 0,
  ) {}

  /** A budget charged to this one as well (a router's per-interface budget, ...). */
  child(name: string, limit: number): HoldBudget {
    return new HoldBudget(name, Math.min(limit, this.limit), this);
  }

  /** Charge one held slot; false (nothing charged, the refusing budget counted) when refused. */
  take(): boolean {
    let b: HoldBudget | null = this;
    while (b !== null) {
      if (b.used >= b.limit || (b.arena !== null && b.arena.availableSmall <= b.reserve)) {
        b.refused++;
        return false;
      }
      b = b.parent;
    }
    for (b = this; b !== null; b = b.parent) b.used++;
    return true;
  }

  /** Whether `take()` would succeed now (nothing charged or counted: the router's decision). */
  canTake(): boolean {
    for (let b: HoldBudget | null = this; b !== null; b = b.parent) {
      if (b.used >= b.limit || (b.arena !== null && b.arena.availableSmall <= b.reserve)) return false;
    }
    return true;
  }

  /** Give back one held slot (the frame was sent or dropped). */
  give(): void {
    for (let b: HoldBudget | null = this; b !== null; b = b.parent) b.used--;
  }

  toJSON(): { name: string; used: number; limit: number; refused: number } {
    return { name: this.name, used: this.used, limit: this.limit, refused: this.refused };
  }
}

/**
 * The root budget of an arena: held slots never exceed a quarter of it, and a hold is refused
 * while fewer than a quarter are free (ingress and frames in flight always find buffers).
 */
export function arenaHoldBudget(arena: FreeCount): HoldBudget {
  const q = Math.max(1, arena.smallSlots >> 2);
  return new HoldBudget('arena', q, null, arena, q);
}
