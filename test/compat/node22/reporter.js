// A node:test reporter for the Node 22 run: one JSON line per finished test or suite, which
// test/compat/node22.test.ts turns back into tests of its own run.
export default async function* reporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { name, nesting, file, skip, todo, details } = event.data;
    const error = details.error;
    yield `${JSON.stringify({
      passed: event.type === 'test:pass',
      name,
      nesting,
      file: file ?? null,
      skip: skip ?? false,
      todo: todo ?? false,
      suite: details.type === 'suite',
      error: error ? String(error.cause?.stack ?? error.cause ?? error.stack ?? error.message) : null,
    })}\n`;
  }
}
