// Module resolution hooks (registered by openai-7.js): `openai` is resolved as if imported from
// ./sdk, where openai 7.x is installed; everything else resolves as usual.
const fromSdk = new URL('./sdk/package.json', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'openai' || specifier.startsWith('openai/')) {
    return nextResolve(specifier, { ...context, parentURL: fromSdk });
  }
  return nextResolve(specifier, context);
}
