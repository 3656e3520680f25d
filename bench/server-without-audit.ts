import { parseConfig, SETTINGS } from '../src/config.ts';
import { serve } from '../src/server.ts';

/**
 * The server as `ftshare serve` runs it, but writing no audit events: what the benchmark's
 * `create (no audit)` route is measured on, to say what auditing costs a write. Reads the same
 * flags as the real server through its settings table (the env vars included); no setting of the
 * real server can turn auditing off.
 */
const raw: Record<string, unknown> = {};
for (const setting of SETTINGS) raw[setting.key] = process.env[setting.env] ?? setting.default;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i += 2) {
  const setting = SETTINGS.find((s) => s.flag.startsWith(`${args[i]} `));
  if (setting) raw[setting.key] = args[i + 1];
}
await serve(parseConfig(raw), { audit: false });
