// oidc-provider's storage port, held in memory per server.
import type { Adapter, AdapterPayload } from 'oidc-provider';

interface StoredEntry {
  payload: AdapterPayload;
  /** Epoch milliseconds; undefined for entries that do not expire. */
  expiresAt?: number;
}

/**
 * Per-server in-memory storage. oidc-provider's bundled adapter would do, but it prints a
 * "development-only" warning on every start and caps storage at 1000 entries (an LRU, which can silently
 * evict live tokens during a long demo).
 */
export function createInMemoryAdapterFactory(): (model: string) => Adapter {
  const entries = new Map<string, StoredEntry>();
  const grantMembers = new Map<string, Set<string>>();
  const secondary = new Map<string, string>();
  let writes = 0;

  const expired = (entry: StoredEntry) => entry.expiresAt !== undefined && entry.expiresAt <= Date.now();
  const live = (key: string): StoredEntry | undefined => {
    const entry = entries.get(key);
    if (entry && expired(entry)) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };
  // Expired entries nobody looks up again would otherwise accumulate in a long-running demo.
  const sweep = () => {
    for (const [key, entry] of entries) if (expired(entry)) entries.delete(key);
    for (const [grantId, keys] of grantMembers) {
      for (const key of keys) if (!entries.has(key)) keys.delete(key);
      if (keys.size === 0) grantMembers.delete(grantId);
    }
  };

  return (model) => {
    const keyFor = (id: string) => `${model}:${id}`;
    const findBySecondary = async (index: string) => {
      const id = secondary.get(index);
      return id === undefined ? undefined : live(keyFor(id))?.payload;
    };
    return {
      async upsert(id, payload, expiresIn) {
        if (++writes % 256 === 0) sweep();
        const key = keyFor(id);
        const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined;
        entries.set(key, { payload, expiresAt });
        if (payload.grantId) {
          grantMembers.set(payload.grantId, (grantMembers.get(payload.grantId) ?? new Set()).add(key));
        }
        if (payload.uid) secondary.set(`uid:${payload.uid}`, id);
        if (payload.userCode) secondary.set(`userCode:${payload.userCode}`, id);
      },
      async find(id) {
        return live(keyFor(id))?.payload;
      },
      findByUid: (uid) => findBySecondary(`uid:${uid}`),
      findByUserCode: (userCode) => findBySecondary(`userCode:${userCode}`),
      async consume(id) {
        const entry = live(keyFor(id));
        if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id) {
        entries.delete(keyFor(id));
      },
      async revokeByGrantId(grantId) {
        for (const key of grantMembers.get(grantId) ?? []) entries.delete(key);
        grantMembers.delete(grantId);
      },
    };
  };
}
