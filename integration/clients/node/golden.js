// Runs the golden cases through mysql2 and prints the answers as JSON.
//
// Usage: node golden.js query|execute < input.json > answers.json
//
// `query` sends every statement as text (COM_QUERY); `execute` prepares the statements marked
// `prepare` (COM_STMT_PREPARE/EXECUTE, binary rows, `?` bound to `params`) and sends the rest as
// text. Input and output: see ../python/golden.py. Cells are strings: dates arrive as strings
// (`dateStrings`), big integers and DECIMAL as strings, JSON columns unparsed, BLOBs as UTF-8.
'use strict';

const mysql = require('mysql2/promise');

function cell(value) {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function typeCast(field, next) {
  if (field.type === 'JSON') return field.string('utf8');
  return next();
}

async function runCase(cfg, mode, kase) {
  const conn = await mysql.createConnection({
    host: cfg.host,
    port: cfg.port,
    user: cfg.user,
    password: cfg.password,
    database: cfg.database,
    charset: 'utf8mb4',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    typeCast,
  });
  const answers = [];
  try {
    for (const stmt of kase.statements) {
      try {
        const [rows, fields] = mode === 'execute' && stmt.prepare
          ? await conn.execute({ sql: stmt.sql, rowsAsArray: true }, stmt.params)
          : await conn.query({ sql: stmt.text_sql, rowsAsArray: true });
        if (!fields) {
          answers.push({ kind: 'ok' });
        } else {
          answers.push({
            kind: 'rows',
            columns: fields.map((f) => f.name),
            rows: rows.map((r) => r.map(cell)),
          });
        }
      } catch (err) {
        if (err.errno === undefined) throw err;
        answers.push({ kind: 'error', code: err.errno, state: err.sqlState || '', message: err.sqlMessage || err.message });
      }
    }
  } finally {
    await conn.end();
  }
  return answers;
}

async function main() {
  const mode = process.argv[2];
  if (mode !== 'query' && mode !== 'execute') throw new Error('mode must be query or execute');
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const cfg = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const cases = [];
  for (const kase of cfg.cases) cases.push(await runCase(cfg, mode, kase));
  process.stdout.write(JSON.stringify({ cases }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
