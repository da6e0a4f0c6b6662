// A whole session with imapflow (the npm IMAP client many Node mail apps
// use) against vimapd: login, list, append, select, fetch, search, flags,
// move, and IDLE seeing a message another connection appends.  Prints one
// JSON object with what it saw; the Python test asserts on it.
const { ImapFlow } = require('imapflow');

const [port, user, pass] = process.argv.slice(2);
const opts = () => ({ host: '127.0.0.1', port: Number(port), secure: false,
                      auth: { user, pass }, logger: false, disableAutoIdle: true });

async function main() {
  const out = {};
  const c = new ImapFlow(opts());
  await c.connect();
  out.list = (await c.list()).map(b => ({ path: b.path, specialUse: b.specialUse || null }));
  await c.append('INBOX', 'From: js@example.org\r\nSubject: from imapflow\r\n\r\nhello js\r\n',
                 ['\\Flagged']);
  const lock = await c.getMailboxLock('INBOX');
  try {
    out.exists = c.mailbox.exists;
    out.uidValidity = String(c.mailbox.uidValidity);
    out.messages = [];
    for await (const m of c.fetch('1:*', { uid: true, envelope: true, flags: true, source: true })) {
      out.messages.push({ uid: m.uid, subject: m.envelope.subject,
                          from: m.envelope.from[0].address, flags: [...m.flags].sort(),
                          source: m.source.toString() });
    }
    out.search = await c.search({ subject: 'imapflow' }, { uid: true });
    await c.messageFlagsAdd({ subject: 'imapflow' }, ['\\Seen']);
    out.seen = await c.search({ seen: true }, { uid: true });
    const moved = await c.messageMove(out.search, 'Trash', { uid: true });
    out.moved = moved ? Object.fromEntries(moved.uidMap || []) : null;
    // IDLE: another connection appends; this one must hear EXISTS.
    const other = new ImapFlow(opts());
    await other.connect();
    const heard = new Promise(resolve => c.on('exists', d => resolve(d.count)));
    // idle() settles only when the next command ends IDLE: not awaited.
    c.idle().catch(() => {});
    await new Promise(r => setTimeout(r, 200));
    await other.append('INBOX', 'Subject: during idle\r\n\r\nx\r\n');
    out.idleExists = await Promise.race([heard, new Promise(r => setTimeout(() => r(-1), 5000))]);
    await other.logout();
  } finally {
    lock.release();
  }
  out.trash = (await c.status('Trash', { messages: true })).messages;
  await c.logout();
  console.log(JSON.stringify(out));
}

main().catch(err => { console.error(err && err.stack || err); process.exit(1); });
