import type { Generated } from 'kysely';

/**
 * Row types of the tables, as Kysely sees them. Timestamps are Unix seconds set by the
 * application; `seq` is the one value the database assigns: a per-table insertion counter that
 * gives list order a total order that every replica agrees on (ids are random, and many rows can
 * share a second).
 */
export interface Database {
  organizations: { id: string; name: string; created_at: number };
  projects: {
    seq: Generated<number>;
    id: string;
    org_id: string;
    name: string;
    external_key_id: string | null;
    created_at: number;
    archived_at: number | null;
  };
  api_keys: {
    id: string;
    org_id: string;
    project_id: string | null;
    kind: 'admin' | 'project';
    name: string;
    hash: string;
    redacted: string;
    created_at: number;
    /** Set when the key is deleted (or rotated out); a deleted key is kept so its hash stays taken. */
    revoked_at: number | null;
    service_account_id: string | null;
    expires_at: number | null;
    last_used_at: number | null;
  };
  service_accounts: {
    id: string;
    org_id: string;
    project_id: string;
    name: string;
    created_at: number;
    role: 'owner' | 'member' | 'none';
    deleted_at: number | null;
  };
  checkpoints: {
    seq: Generated<number>;
    org_id: string;
    name: string;
    project_id: string;
    created_at: number;
  };
  checkpoint_permissions: {
    seq: Generated<number>;
    id: string;
    org_id: string;
    checkpoint: string;
    project_id: string;
    created_at: number;
  };
  model_permissions: {
    project_id: string;
    org_id: string;
    mode: 'allow_list' | 'deny_list';
    /** JSON array of strings. */
    model_ids: string;
    updated_at: number;
  };
  access_versions: { org_id: string; shard: number; n: number };
  audit_events: {
    seq: Generated<number>;
    id: string;
    org_id: string;
    type: string;
    effective_at: number;
    project_id: string | null;
    actor_id: string | null;
    resource_id: string;
    /** JSON: OpenAI's `actor` object, or null for changes no key made (start-up, `org create`). */
    actor: string | null;
    /** JSON: the event's own payload, keyed by its type on the wire. */
    payload: string;
  };
}
