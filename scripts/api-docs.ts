/**
 * The typed API reference: API Extractor reads the doc comments of the built entry (dist/node.d.ts, which re-exports
 * the browser entry) into a doc model, API Documenter turns it into Markdown under docs/api/. Fails, listing them, when
 * an export has no doc comment, or a member of the high-level API (src/api) has none. `--check` skips the Markdown.
 * Needs `npm run build` first.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const ROOT = join(import.meta.dirname, '..');

interface ApiItem {
  readonly kind: string;
  readonly name?: string;
  readonly docComment?: string;
  readonly fileUrlPath?: string;
  readonly members?: readonly ApiItem[];
}

/** What the reference covers, and what lacks a doc comment. */
export interface ApiDocsReport {
  /** Exports of the Node entry (namespace members included). */
  readonly exports: number;
  /** Members of the high-level API's classes and interfaces (src/api). */
  readonly apiMembers: number;
  /** "Kind name" of every export or src/api member without a doc comment. */
  readonly undocumented: readonly string[];
}

/** Signatures that carry their owner's documentation. */
const SELF_EXPLAINED = new Set(['Constructor', 'CallSignature', 'IndexSignature', 'ConstructSignature']);

export function extractApi(): ApiDocsReport {
  const config = ExtractorConfig.loadFileAndPrepare(join(ROOT, 'api-extractor.json'));
  // Its own warnings (forgotten exports, TSDoc style) are not this check's business: silence them.
  const silence = (m: { handled: boolean }) => {
    m.handled = true;
  };
  const result = Extractor.invoke(config, { localBuild: true, showVerboseMessages: false, messageCallback: silence });
  if (!result.succeeded) throw new Error(`API Extractor failed: ${result.errorCount} errors`);
  const model = JSON.parse(readFileSync(config.apiJsonFilePath, 'utf8')) as ApiItem;
  const entry = model.members?.[0];
  const undocumented: string[] = [];
  let exports = 0;
  let apiMembers = 0;
  // API Extractor keeps no comment for `export * as ns`: the one on that line of the entry counts.
  const entryText = readFileSync(join(ROOT, 'dist', 'node.d.ts'), 'utf8');
  const documented = (item: ApiItem) =>
    (item.docComment ?? '').replace(/[/*\s]/g, '') !== '' ||
    (item.kind === 'Namespace' && new RegExp(`\\*/\\s*export \\* as ${item.name} from`).test(entryText));
  const visit = (items: readonly ApiItem[], prefix: string) => {
    for (const item of items) {
      const name = `${prefix}${item.name ?? '?'}`;
      exports++;
      if (!documented(item)) undocumented.push(`${item.kind} ${name}`);
      if (item.kind === 'Namespace') visit(item.members ?? [], `${name}.`);
      else if (item.fileUrlPath?.startsWith('dist/api/'))
        for (const member of item.members ?? []) {
          if (SELF_EXPLAINED.has(member.kind)) continue;
          apiMembers++;
          if (!documented(member)) undocumented.push(`${member.kind} ${name}.${member.name ?? '?'}`);
        }
    }
  };
  visit(entry?.members ?? [], '');
  return { exports, apiMembers, undocumented };
}

if (process.argv[1]?.endsWith('api-docs.ts')) {
  const report = extractApi();
  console.log(`${report.exports} exports, ${report.apiMembers} members of the high-level API`);
  if (report.undocumented.length > 0) {
    console.error(`Without a doc comment (${report.undocumented.length}):\n  ${report.undocumented.join('\n  ')}`);
    process.exit(1);
  }
  if (!process.argv.includes('--check')) {
    const out = join(ROOT, 'docs', 'api');
    rmSync(out, { recursive: true, force: true });
    execFileSync(join(ROOT, 'node_modules', '.bin', 'api-documenter'), ['markdown', '-i', join(ROOT, 'temp', 'api'), '-o', out], { stdio: 'inherit' });
    console.log(`API reference written to ${out}`);
  }
}
