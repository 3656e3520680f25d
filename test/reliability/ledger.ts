import assert from 'node:assert/strict';

/**
 * What a client knows of an organization's state after a run of writes, some acknowledged (200),
 * some cut off or refused (a connection error, a 503): each of those may or may not have been
 * applied. After a restart, `reconcile` checks the store's export against it:
 *
 * - every acknowledged write is there, exactly (ids, timestamps): nothing acknowledged is lost;
 * - every write of unknown outcome is there whole or not at all: a batch grant's new projects
 *   are all granted or none is;
 * - nothing is there that nobody asked for;
 * - the audit log agrees with the state.
 *
 * Writes are planned so no two in flight touch the same object (`reserve`), so the last write to
 * each object decides its state, whatever order the server ran them in.
 */

export type Permission = { id: string; checkpoint: string; project_id: string; created_at: number };

/** The parts of `GET /v1/organization/export` the checks read. */
export type Export = {
  projects: { id: string; name: string; archived_at: number | null }[];
  api_keys: { id: string; kind: string; name: string; revoked_at: number | null }[];
  service_accounts: { id: string; project_id: string; name: string; deleted_at: number | null }[];
  checkpoints: { name: string; project_id: string }[];
  permissions: Permission[];
  audit_events: { id: string; type: string; resource_id: string | null }[];
};

type Known<T> = { state: 'known'; value: T } | { state: 'unknown' };

/** An outcome-unknown grant: its (checkpoint, project) pairs that did not exist before it. */
type OpenGrant = { pairs: string[] };

const pair = (checkpoint: string, project: string) => `${checkpoint}\u0000${project}`;

export class Ledger {
  /** Active or archived, per project id; `unknown` after an archive of unknown outcome. */
  readonly projects = new Map<string, Known<{ archived: boolean }>>();
  /** Per (checkpoint, project): the permission there, `null` for none, or unknown. */
  readonly permissions = new Map<string, Known<Permission | null>>();
  /** Admin keys made by the workload: live or deleted (or unknown), with the secret when known. */
  readonly adminKeys = new Map<string, Known<{ live: boolean }> & { secret?: string }>();
  readonly serviceAccounts = new Set<string>();
  readonly checkpoints: string[] = [];
  /** Names of creates whose outcome is unknown: the object may exist under a name we chose. */
  private readonly pendingProjects = new Set<string>();
  private readonly pendingAdminKeys = new Set<string>();
  private readonly pendingServiceAccounts = new Map<string, string>();
  private readonly openGrants: OpenGrant[] = [];
  private openGrantPairs = new Set<string>();
  /** Objects some write in flight is about. */
  private readonly reserved = new Set<string>();
  /** Acknowledged writes so far, and those of unknown outcome. */
  acknowledged = 0;
  uncertain = 0;

  constructor(readonly bootstrapKeyIds: ReadonlySet<string> = new Set()) {}

  reserve(...keys: string[]): boolean {
    if (keys.some((key) => this.reserved.has(key))) return false;
    for (const key of keys) this.reserved.add(key);
    return true;
  }

  release(...keys: string[]): void {
    for (const key of keys) this.reserved.delete(key);
  }

  isReserved(key: string): boolean {
    return this.reserved.has(key);
  }

  activeProjects(): string[] {
    return [...this.projects].filter(([, p]) => p.state === 'known' && !p.value.archived).map(([id]) => id);
  }

  livePermissions(): Permission[] {
    const live: Permission[] = [];
    for (const entry of this.permissions.values()) if (entry.state === 'known' && entry.value) live.push(entry.value);
    return live;
  }

  /** Pairs of `checkpoint` with `projects` that hold no permission for sure (none known, none pending). */
  grantable(checkpoint: string, projects: string[]): string[] {
    return projects.filter((project) => {
      const entry = this.permissions.get(pair(checkpoint, project));
      return entry === undefined || (entry.state === 'known' && entry.value === null);
    });
  }

  static pairKey = pair;

  // Outcomes of each kind of write.

  /** `data` of a grant's answer (wire permissions, which do not name their checkpoint). */
  granted(checkpoint: string, data: { id: string; project_id: string; created_at: number }[]): void {
    this.acknowledged++;
    for (const p of data) {
      const value = { id: p.id, checkpoint, project_id: p.project_id, created_at: p.created_at };
      this.permissions.set(pair(checkpoint, p.project_id), { state: 'known', value });
    }
  }

  grantUnknown(checkpoint: string, projects: string[]): void {
    this.uncertain++;
    const pairs = projects.map((project) => pair(checkpoint, project));
    for (const key of pairs) this.permissions.set(key, { state: 'unknown' });
    this.openGrants.push({ pairs });
  }

  revoked(permission: Permission): void {
    this.acknowledged++;
    this.permissions.set(pair(permission.checkpoint, permission.project_id), { state: 'known', value: null });
  }

  revokeUnknown(permission: Permission): void {
    this.uncertain++;
    this.permissions.set(pair(permission.checkpoint, permission.project_id), { state: 'unknown' });
  }

  projectCreated(id: string): void {
    this.acknowledged++;
    this.projects.set(id, { state: 'known', value: { archived: false } });
  }

  projectCreateUnknown(name: string): void {
    this.uncertain++;
    this.pendingProjects.add(name);
  }

  archived(id: string, acknowledged: boolean): void {
    if (acknowledged) this.acknowledged++;
    else this.uncertain++;
    this.projects.set(id, acknowledged ? { state: 'known', value: { archived: true } } : { state: 'unknown' });
  }

  adminKeyCreated(id: string, secret: string): void {
    this.acknowledged++;
    this.adminKeys.set(id, { state: 'known', value: { live: true }, secret });
  }

  adminKeyCreateUnknown(name: string): void {
    this.uncertain++;
    this.pendingAdminKeys.add(name);
  }

  adminKeyDeleted(id: string, acknowledged: boolean): void {
    if (acknowledged) this.acknowledged++;
    else this.uncertain++;
    const secret = this.adminKeys.get(id)?.secret;
    this.adminKeys.set(id, {
      ...(acknowledged ? { state: 'known', value: { live: false } } : { state: 'unknown' }),
      ...(secret ? { secret } : {}),
    });
  }

  serviceAccountCreated(id: string): void {
    this.acknowledged++;
    this.serviceAccounts.add(id);
  }

  serviceAccountCreateUnknown(name: string, projectId: string): void {
    this.uncertain++;
    this.pendingServiceAccounts.set(name, projectId);
  }

  /**
   * Checks `state` against everything written so far (the list of problems found, empty when
   * none), then takes what it shows for every write of unknown outcome, so the next round starts
   * from certainty. `lost` counts acknowledged writes missing or undone.
   */
  reconcile(state: Export): { problems: string[]; lost: number; halfApplied: number; unknownApplied: number } {
    const problems: string[] = [];
    let lost = 0;
    let halfApplied = 0;
    /** Writes of unknown outcome that the store shows applied. */
    let unknownApplied = 0;

    // Permissions.
    const stored = new Map(state.permissions.map((p) => [pair(p.checkpoint, p.project_id), p]));
    this.openGrantPairs = new Set(this.openGrants.flatMap((grant) => grant.pairs));
    for (const grant of this.openGrants) {
      const present = grant.pairs.filter((key) => stored.has(key)).length;
      if (present > 0) unknownApplied++;
      if (present !== 0 && present !== grant.pairs.length) {
        halfApplied++;
        problems.push(`a batch grant was half applied: ${present} of ${grant.pairs.length} new pairs exist`);
      }
    }
    this.openGrants.length = 0;
    for (const [key, entry] of this.permissions) {
      const found = stored.get(key) ?? null;
      if (entry.state === 'unknown') {
        if (found === null && !this.openGrantPairs.has(key)) unknownApplied++; // a revoke that happened
        this.permissions.set(key, { state: 'known', value: found });
      } else if (entry.value === null && found) {
        lost++;
        problems.push(`an acknowledged revoke was undone: ${found.id}`);
      } else if (entry.value !== null && !samePermission(entry.value, found)) {
        lost++;
        problems.push(
          `an acknowledged grant is missing or changed: ${JSON.stringify(entry.value)} → ${JSON.stringify(found)}`,
        );
      }
    }
    for (const [key, p] of stored) {
      if (!this.permissions.has(key)) problems.push(`a permission nobody granted: ${JSON.stringify(p)}`);
    }

    // Projects.
    const projects = new Map(state.projects.map((p) => [p.id, p]));
    for (const [id, entry] of this.projects) {
      const found = projects.get(id);
      if (!found) {
        lost++;
        problems.push(`an acknowledged project is missing: ${id}`);
      } else if (entry.state === 'unknown') {
        if (found.archived_at !== null) unknownApplied++;
        this.projects.set(id, { state: 'known', value: { archived: found.archived_at !== null } });
      } else if (entry.value.archived !== (found.archived_at !== null)) {
        lost++;
        problems.push(`project ${id}: archived ${found.archived_at !== null}, acknowledged ${entry.value.archived}`);
      }
    }
    for (const [id, p] of projects) {
      if (this.projects.has(id)) continue;
      if (this.pendingProjects.delete(p.name)) {
        unknownApplied++;
        this.projects.set(id, { state: 'known', value: { archived: false } });
      } else problems.push(`a project nobody created (or created twice): ${JSON.stringify(p)}`);
    }
    this.pendingProjects.clear();

    // Admin keys (the bootstrap key aside).
    const keys = new Map(state.api_keys.filter((k) => k.kind === 'admin').map((k) => [k.id, k]));
    for (const [id, entry] of this.adminKeys) {
      const found = keys.get(id);
      if (!found) {
        lost++;
        problems.push(`an acknowledged admin key is missing: ${id}`);
      } else if (entry.state === 'unknown') {
        if (found.revoked_at !== null) unknownApplied++;
        this.adminKeys.set(id, { state: 'known', value: { live: found.revoked_at === null } });
      } else if (entry.value.live !== (found.revoked_at === null)) {
        lost++;
        problems.push(`admin key ${id}: live ${found.revoked_at === null}, acknowledged ${entry.value.live}`);
      }
    }
    for (const [id, k] of keys) {
      if (this.adminKeys.has(id) || this.bootstrapKeyIds.has(id)) continue;
      if (this.pendingAdminKeys.delete(k.name)) {
        unknownApplied++;
        this.adminKeys.set(id, { state: 'known', value: { live: k.revoked_at === null } });
      } else problems.push(`an admin key nobody created (or created twice): ${id} ${k.name}`);
    }
    this.pendingAdminKeys.clear();

    // Service accounts.
    const accounts = new Map(state.service_accounts.map((a) => [a.id, a]));
    for (const id of this.serviceAccounts) {
      if (!accounts.has(id)) {
        lost++;
        problems.push(`an acknowledged service account is missing: ${id}`);
      }
    }
    for (const [id, a] of accounts) {
      if (this.serviceAccounts.has(id)) continue;
      if (this.pendingServiceAccounts.get(a.name) === a.project_id) {
        this.pendingServiceAccounts.delete(a.name);
        unknownApplied++;
        this.serviceAccounts.add(id);
      } else problems.push(`a service account nobody created (or created twice): ${id} ${a.name}`);
    }
    this.pendingServiceAccounts.clear();

    problems.push(...auditDisagreements(state));
    return { problems, lost, halfApplied, unknownApplied };
  }
}

const samePermission = (a: Permission, b: Permission | null) =>
  b !== null &&
  a.id === b.id &&
  a.checkpoint === b.checkpoint &&
  a.project_id === b.project_id &&
  a.created_at === b.created_at;

/**
 * The audit log and the state agree: no change without its event, no event without its change
 * (events are written in the change's transaction). Replaying the events gives exactly the live
 * permissions, the projects and which are archived, the live keys and the live service accounts.
 */
export function auditDisagreements(state: Export): string[] {
  const live = {
    permissions: new Set<string>(),
    projects: new Set<string>(),
    archived: new Set<string>(),
    keys: new Set<string>(),
    accounts: new Set<string>(),
  };
  for (const event of state.audit_events) {
    const id = event.resource_id ?? '';
    switch (event.type) {
      case 'checkpoint.permission.created':
        live.permissions.add(id);
        break;
      case 'checkpoint.permission.deleted':
        live.permissions.delete(id);
        break;
      case 'project.created':
        live.projects.add(id);
        break;
      case 'project.archived':
        live.archived.add(id);
        break;
      case 'api_key.created':
        live.keys.add(id);
        break;
      case 'api_key.deleted':
        live.keys.delete(id);
        break;
      case 'service_account.created':
        live.accounts.add(id);
        break;
      case 'service_account.deleted':
        live.accounts.delete(id);
        break;
    }
  }
  const problems: string[] = [];
  const compare = (what: string, fromEvents: Set<string>, fromState: string[]) => {
    const a = [...fromEvents].sort();
    const b = [...fromState].sort();
    try {
      assert.deepEqual(a, b);
    } catch {
      const onlyEvents = a.filter((id) => !b.includes(id));
      const onlyState = b.filter((id) => !a.includes(id));
      problems.push(`audit log and state disagree on ${what}: events only ${onlyEvents}, state only ${onlyState}`);
    }
  };
  compare(
    'permissions',
    live.permissions,
    state.permissions.map((p) => p.id),
  );
  compare(
    'projects',
    live.projects,
    state.projects.map((p) => p.id),
  );
  compare(
    'archived projects',
    live.archived,
    state.projects.filter((p) => p.archived_at !== null).map((p) => p.id),
  );
  compare(
    'live keys',
    live.keys,
    state.api_keys.filter((k) => k.revoked_at === null).map((k) => k.id),
  );
  compare(
    'live service accounts',
    live.accounts,
    state.service_accounts.filter((a) => a.deleted_at === null).map((a) => a.id),
  );
  return problems;
}
