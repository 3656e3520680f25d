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
    revoked_at: number | null;
  };
  service_accounts: {
    id: string;
    org_id: string;
    project_id: string;
    name: string;
    created_at: number;
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
}
