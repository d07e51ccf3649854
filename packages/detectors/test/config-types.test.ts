import test from 'ava';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

// `defineConfig` checks what TypeScript can: core sections exactly, and the params this package
// declares for its detectors (DetectorParams). The fixture marks each line that must fail.
test('defineConfig: misspelt keys and wrong param types fail the type check; undeclared names pass', (t) => {
  const file = fileURLToPath(new URL('fixtures/typed-configs.ts', import.meta.url));
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    customConditions: ['source'],
    allowImportingTsExtensions: true,
    skipLibCheck: true,
    types: ['node'],
  });
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === file || !d.file);
  const messages = diagnostics.map((d) => {
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : '?';
    return `line ${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
  // An unused @ts-expect-error is itself an error (TS2578), so this also fails when a typo passes.
  t.deepEqual(messages, []);
});
