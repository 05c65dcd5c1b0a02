/**
 * Run with: npx tsx examples/documents.ts   (PostgreSQL at BULWARK_POSTGRES_URL, default
 * postgres://postgres@127.0.0.1:5432/test)
 *
 * A flow on PostgreSQL: each document is parsed and split into chunks (fan-out with ctx.spawn), every
 * chunk is embedded in micro-batches that mix chunks of different documents, and a join job per
 * document (which depends on all its chunks) reads every chunk's result with ctx.dependencies() and
 * marks the document complete in the application's own table.
 */
import pg from 'pg';
import { Queue, Worker, type JobContext } from '../src/index.js';
import { postgresStore } from '../src/store/postgres/index.js';

type Task =
  | { kind: 'parse'; docId: string; text: string }
  | { kind: 'embed'; docId: string; index: number; text: string }
  | { kind: 'complete'; docId: string };

const url = process.env.BULWARK_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `example_documents_${process.pid}`;
const db = new pg.Pool({ connectionString: url, max: 2 });
await db.query(`CREATE SCHEMA "${schema}"`);
await db.query(
  `CREATE TABLE "${schema}".documents (id text PRIMARY KEY, status text NOT NULL, chunks jsonb)`,
);
const store = postgresStore({ connectionString: url, schema });
const queue = new Queue<Task>('documents', { store, defaults: { maxAttempts: 3 } });

/** A stand-in embedding model: one call embeds a batch of texts (what real embedding APIs bill by). */
const modelCalls: { chunks: number; documents: number }[] = [];
async function embedBatch(texts: string[], documents: number): Promise<number[][]> {
  modelCalls.push({ chunks: texts.length, documents });
  await new Promise((r) => setTimeout(r, 15));
  return texts.map((t) => [t.length, [...t].reduce((a, c) => a + c.charCodeAt(0), 0) % 97]);
}

/** Micro-batching: chunks from any document wait up to 50 ms for up to 16 others, then share one call. */
const pending: {
  docId: string;
  text: string;
  resolve: (v: number[]) => void;
  reject: (e: unknown) => void;
}[] = [];
let timer: NodeJS.Timeout | undefined;
function flush(): void {
  clearTimeout(timer);
  timer = undefined;
  const batch = pending.splice(0, 16);
  embedBatch(
    batch.map((b) => b.text),
    new Set(batch.map((b) => b.docId)).size,
  ).then(
    (vectors) => batch.forEach((b, i) => b.resolve(vectors[i]!)),
    (e: unknown) => batch.forEach((b) => b.reject(e)),
  );
}
function embed(docId: string, text: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    pending.push({ docId, text, resolve, reject });
    if (pending.length >= 16) flush();
    else timer ??= setTimeout(flush, 50);
  });
}

async function handle(ctx: JobContext<Task>): Promise<unknown> {
  const task = ctx.payload;
  switch (task.kind) {
    case 'parse': {
      await db.query(
        `INSERT INTO "${schema}".documents (id, status) VALUES ($1, 'parsed') ON CONFLICT DO NOTHING`,
        [task.docId],
      );
      const chunks = task.text.match(/[^.]+\./g) ?? [task.text];
      const { join } = await ctx.spawn(
        chunks.map((text, index) => ({
          payload: { kind: 'embed' as const, docId: task.docId, index, text: text.trim() },
          options: { name: 'embed' },
        })),
        { join: { payload: { kind: 'complete', docId: task.docId }, options: { name: 'complete' } } },
      );
      return { chunks: chunks.length, join: join!.id };
    }
    case 'embed':
      return { index: task.index, vector: await embed(task.docId, task.text) };
    case 'complete': {
      const chunks = (await ctx.dependencies()).map((d) => d.result);
      await db.query(`UPDATE "${schema}".documents SET status = 'complete', chunks = $2 WHERE id = $1`, [
        task.docId,
        JSON.stringify(chunks),
      ]);
      return { docId: task.docId, chunks: chunks.length };
    }
  }
}

const worker = new Worker(queue, handle, { concurrency: 32 });
const docs = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'].map((docId, d) => ({
  docId,
  text: Array.from({ length: 8 + d * 3 }, (_, i) => `Sentence ${i} of ${docId} says something.`).join(' '),
}));
await queue.addBulk(
  docs.map((doc) => ({
    payload: { kind: 'parse', ...doc },
    options: { id: `parse:${doc.docId}`, name: 'parse' },
  })),
);

const deadline = Date.now() + 30_000;
let done: { id: string; status: string; chunks: unknown[] | null }[] = [];
while (Date.now() < deadline) {
  done = (await db.query(`SELECT id, status, chunks FROM "${schema}".documents ORDER BY id`)).rows;
  if (done.length === docs.length && done.every((d) => d.status === 'complete')) break;
  await new Promise((r) => setTimeout(r, 50));
}
await worker.close();
for (const d of done) console.log(`${d.id}: ${d.status}, ${d.chunks?.length ?? 0} chunk results`);
const sizes = modelCalls.map((c) => `${c.chunks} chunks of ${c.documents} documents`).join(', ');
console.log(`embedding calls: ${modelCalls.length} (${sizes})`);
// Usually some calls mix chunks of several documents (how many depends on timing).
const ok = done.length === docs.length && done.every((d) => d.status === 'complete');
await store.close();
await db.query(`DROP SCHEMA "${schema}" CASCADE`);
await db.end();
if (!ok) {
  console.error('not every document completed');
  process.exitCode = 1;
}
