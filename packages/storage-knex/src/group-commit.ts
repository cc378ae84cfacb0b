import type { Knex } from 'knex';

/** A transaction (or a single write) waiting to run in a group, and how to answer its caller. */
interface Member {
  readonly fn: (trx: Knex.Transaction) => Promise<unknown>;
  /** A single write: when it is alone, it runs by itself, in autocommit, with no transaction around it. */
  readonly alone: ((db: Knex) => Promise<unknown>) | null;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  /** When it was queued (`performance.now()`), for the wait timeout. */
  readonly queuedAt: number;
}

/** What a {@link GroupCommit} needs from its driver. */
export interface GroupCommitOptions {
  /** Runs `body` in a new database transaction (taking the write lock first) and commits it. */
  readonly open: (body: (trx: Knex.Transaction) => Promise<void>) => Promise<void>;
  /** Runs a single write that is alone in its group without a transaction (autocommit). */
  readonly autocommit: (write: (db: Knex) => Promise<unknown>) => Promise<unknown>;
  /** Runs one savepoint statement (`savepoint`, `release`, `rollback to`) on the transaction. */
  readonly statement: (trx: Knex.Transaction, sql: string) => Promise<void>;
  /** The most transactions one commit carries; the rest wait for the next group. */
  readonly maxMembers: number;
  /**
   * How long a transaction may wait for its group before it fails with `timeout()` (the pool's
   * acquire timeout: what a transaction waiting for SQLite's one connection got before). It ends a
   * wait that cannot end otherwise: a transaction started, outside its `tx`, from inside another.
   */
  readonly waitTimeoutMs: number;
  readonly timeout: () => Error;
  /** The error a caller gets when its group's BEGIN, savepoint or COMMIT failed. */
  readonly storeError: (error: unknown) => Error;
}

const SAVEPOINT = 'payable_member';

/** Thrown out of a group's transaction to roll it back when its first member failed (see `#drain`). */
class FirstMemberFailed {
  constructor(readonly error: unknown) {}
}

/**
 * Group commit for SQLite, whose one writer runs transactions one after the other anyway: the
 * transactions requested in one turn of the event loop, and those that queue up while a group
 * runs, share one database transaction and commit together. A caller is answered only after the
 * COMMIT that carries its work succeeded. A callback that throws undoes only its own work (the
 * first of a group by rolling the transaction back, the others by rolling back to a savepoint
 * taken before them) and its caller gets its error at once, while the others go on; a failed
 * BEGIN, savepoint statement or COMMIT fails every caller of the group (none of their work is
 * stored). Writes made outside transactions join the groups too (`write`), each as a member of
 * one statement; a write alone in its group runs by itself in autocommit. What it saves is a
 * COMMIT, with its WAL write and fsync, and a knex transaction per caller.
 */
export class GroupCommit {
  readonly #options: GroupCommitOptions;
  readonly #queue: Member[] = [];
  #running = false;
  #scheduled = false;
  #watchdog: ReturnType<typeof setTimeout> | null = null;

  constructor(options: GroupCommitOptions) {
    this.#options = options;
  }

  /** Runs `fn` in the next group's transaction; resolves with its result once that group committed. */
  run<T>(fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    return this.#enqueue(fn, null);
  }

  /**
   * Runs one write statement (or a write of the driver's own, e.g. an insert-or-read) as a member of
   * the next group, so that concurrent writes outside transactions share a COMMIT too. Alone, it
   * runs by itself in autocommit, as it would without group commit.
   */
  write<T>(write: (db: Knex | Knex.Transaction) => Promise<T>): Promise<T> {
    return this.#enqueue(write, write);
  }

  #enqueue<T>(fn: (trx: Knex.Transaction) => Promise<T>, alone: ((db: Knex) => Promise<T>) | null): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({
        fn,
        alone,
        resolve: resolve as (value: unknown) => void,
        reject,
        queuedAt: performance.now(),
      });
      if (this.#running || this.#scheduled) return;
      // Start when this turn of the event loop has run its callbacks, so the requests read in it join.
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        if (!this.#running && this.#queue.length > 0) void this.#drain();
      });
    });
  }

  /** Opens a transaction, runs queued members in it until the queue is empty or the group full, commits. */
  async #drain(): Promise<void> {
    this.#running = true;
    const lone = this.#queue.length === 1 ? (this.#queue[0] as Member) : null;
    if (lone?.alone) {
      this.#queue.shift();
      try {
        lone.resolve(await this.#options.autocommit(lone.alone));
      } catch (error) {
        lone.reject(error);
      }
      this.#running = false;
      if (this.#queue.length > 0) void this.#drain();
      return;
    }
    this.#arm();
    const { open, statement, maxMembers, storeError } = this.#options;
    const done: { member: Member; value: unknown }[] = [];
    let current: Member | null = null;
    let started = false;
    try {
      await open(async (trx) => {
        started = true;
        while (done.length < maxMembers) {
          const member = this.#queue.shift();
          if (member === undefined) break;
          current = member;
          // The first member needs no savepoint: if it fails, the whole transaction rolls back.
          const first = done.length === 0;
          if (!first) await statement(trx, `savepoint ${SAVEPOINT}`);
          let value: unknown;
          try {
            value = await member.fn(trx);
          } catch (error) {
            if (first) throw new FirstMemberFailed(error);
            await statement(trx, `rollback to ${SAVEPOINT}`);
            await statement(trx, `release ${SAVEPOINT}`);
            current = null;
            member.reject(error);
            continue;
          }
          if (!first) await statement(trx, `release ${SAVEPOINT}`);
          current = null;
          done.push({ member, value });
        }
      });
    } catch (error) {
      if (error instanceof FirstMemberFailed) {
        // Nothing else ran in this transaction: its first member alone gets its own error.
        (current as Member | null)?.reject(error.error);
      } else {
        // Nothing of this group is stored. Before BEGIN succeeded, every waiting caller gets the
        // error (each would have got it from its own BEGIN); later, those that ran in the group.
        const failed = storeError(error);
        const losers: Member[] = done.map((entry) => entry.member);
        if (current !== null) losers.push(current);
        if (!started) losers.push(...this.#queue.splice(0));
        for (const member of losers) member.reject(failed);
      }
      done.length = 0;
    } finally {
      this.#running = false;
      if (this.#watchdog !== null) clearTimeout(this.#watchdog);
      this.#watchdog = null;
    }
    for (const { member, value } of done) member.resolve(value);
    if (this.#queue.length > 0) void this.#drain();
  }

  /** While a group runs, fail the members that waited longer than the timeout. */
  #arm(): void {
    const oldest = this.#queue[0];
    if (oldest === undefined) return;
    const { waitTimeoutMs, timeout } = this.#options;
    const delay = Math.max(0, oldest.queuedAt + waitTimeoutMs - performance.now());
    this.#watchdog = setTimeout(() => {
      this.#watchdog = null;
      const limit = performance.now() - waitTimeoutMs;
      while (this.#queue.length > 0 && (this.#queue[0] as Member).queuedAt <= limit) {
        (this.#queue.shift() as Member).reject(timeout());
      }
      if (this.#running) this.#arm();
    }, delay);
    this.#watchdog.unref?.();
  }
}
