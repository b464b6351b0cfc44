/**
 * Asks a Switchboard mesh one question and prints its answer and citations as one JSON object.
 *
 * It speaks only the topics' contract (docs/asyncapi.yaml): a TaskSubmitted in Avro single-object encoding
 * on tasks.submitted, keyed by the task id; the TaskCompleted under the same key on tasks.completed. Usage:
 * `node dist/main.js "question"`, configured by environment: SB_BOOTSTRAP, SB_SCHEMAS (the schemas/
 * folder), SB_TENANT, SB_USER, and optionally SB_TOPIC_PREFIX, SB_GROUPS (comma-separated), SB_CLEARANCE,
 * SB_TOKEN (principal token), SB_TENANT_KEY (the tenant's data key, base64, where the mesh encrypts at
 * rest) and SB_TIMEOUT_S.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { Consumer, Kafka, logLevel, LogEntry, Partitioners } from "kafkajs";
import { decode, encode, Schemas } from "./schemas";
import { Sealer } from "./sealer";

/** The fields of a TaskCompleted this client prints, as avsc decodes them. */
interface TaskCompleted {
  envelope: { task_id: string };
  status: string;
  answer: string;
  citations: { doc_id: string; passage_id: string; title: string }[];
}

async function main(): Promise<void> {
  const question = process.argv[2] ?? fail("usage: node dist/main.js QUESTION");
  const bootstrap = require_("SB_BOOTSTRAP");
  const prefix = process.env.SB_TOPIC_PREFIX ?? "";
  const tenant = require_("SB_TENANT");
  const schemas = new Schemas(require_("SB_SCHEMAS"));
  const sealer = new Sealer(tenant, process.env.SB_TENANT_KEY);
  const timeoutMs = Number(process.env.SB_TIMEOUT_S ?? "60") * 1000;

  const taskId = randomUUID().replaceAll("-", "");
  const traceparent = `00-${hex(16)}-${hex(8)}-01`;
  const value = encode(schemas.get("switchboard.TaskSubmitted"), task(sealer, taskId, tenant, question, traceparent, timeoutMs));

  const kafka = new Kafka({ clientId: "switchboard-ts-client", brokers: bootstrap.split(","), logLevel: logLevel.WARN, logCreator });
  // A consumer group of its own, read from the first offset (as the Python client's `result` reads): the result
  // is found by its key whenever it lands. kafkajs consumes only in a group; the group commits nothing. A new
  // group's first join takes half its session timeout on tansu (15 s at kafkajs's default 30 s), and tansu
  // answers a fetch only when its wait runs out: the mesh's 6 s session and a short wait keep both quick there.
  const results = kafka.consumer({ groupId: `switchboard-ts-client-${taskId}`, allowAutoTopicCreation: false,
                                   sessionTimeout: 6000, heartbeatInterval: 1000, rebalanceTimeout: 12000,
                                   maxWaitTimeInMs: 250 });
  // the Java client's partitioner (murmur2 of the key), as the mesh's own producers partition
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false,
                                    idempotent: false });
  try {
    await Promise.all([results.connect(), producer.connect()]);
    const completed = schemas.get("switchboard.TaskCompleted");
    const answer = awaitResult(results, prefix + "tasks.completed", taskId, (bytes) => decode<TaskCompleted>(completed, bytes),
                               timeoutMs);
    answer.catch(() => undefined); // awaited below; a failure while producing must not go unhandled meanwhile
    await producer.send({
      topic: prefix + "tasks.submitted", acks: -1,
      messages: [{ key: taskId, value, headers: { traceparent } }],
    });
    log(`submitted task ${taskId}`);
    const done = await answer;
    process.stdout.write(JSON.stringify({
      task_id: done.envelope.task_id,
      status: done.status,
      answer: sealer.open("answer", done.answer),
      citations: done.citations.map((c) => ({ doc_id: c.doc_id, passage_id: c.passage_id,
                                              title: sealer.open("citations.title", c.title) })),
    }) + "\n");
  } finally {
    await Promise.allSettled([results.disconnect(), producer.disconnect()]);
  }
}

/** The TaskSubmitted record: envelope, question (sealed where the mesh seals), principal and token. */
function task(sealer: Sealer, taskId: string, tenant: string, question: string, traceparent: string, timeoutMs: number) {
  const now = Date.now();
  const groups = process.env.SB_GROUPS ?? "";
  return {
    envelope: {
      event_id: randomUUID().replaceAll("-", ""),
      task_id: taskId,
      step_id: "root",
      tenant_id: tenant,
      idempotency_key: createHash("sha256").update(`${taskId}\u001froot\u001fsubmitted`).digest("hex").slice(0, 32),
      causation_id: null,
      attempt: 0,
      policy_version: "",
      traceparent,
      tracestate: null,
      created_at: now,
    },
    question: sealer.seal("question", question),
    principal: {
      tenant_id: tenant,
      user_id: require_("SB_USER"),
      groups: groups === "" ? [] : groups.split(","),
      clearance: process.env.SB_CLEARANCE || "internal",
      roles: [],
    },
    top_k: 5,
    deadline_ms: now + timeoutMs,
    output_schema: null,
    principal_token: process.env.SB_TOKEN || null,
  };
}

/** The TaskCompleted keyed by `taskId` on `topic`; records of other schemas or tasks are skipped. */
async function awaitResult(consumer: Consumer, topic: string, taskId: string,
                           read: (bytes: Buffer | null) => TaskCompleted | undefined, timeoutMs: number): Promise<TaskCompleted> {
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  return new Promise<TaskCompleted>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s for task ${taskId}`)), timeoutMs);
    consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        if (message.key?.toString("utf8") !== taskId) {
          return;
        }
        const done = read(message.value);
        if (done) {
          clearTimeout(timer);
          resolve(done);
        }
      },
    }).catch(reject);
  });
}

/** kafkajs's warnings and errors on stderr, so stdout holds only the result's JSON. */
function logCreator() {
  return ({ namespace, label, log: entry }: LogEntry) => log(`kafkajs ${label} ${namespace}: ${entry.message}${entry.error ? ` (${entry.error})` : ""}`);
}

function log(message: string): void {
  process.stderr.write(`ts-client: ${message}\n`);
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}

function require_(name: string): string {
  return process.env[name] || fail(`set ${name}`);
}

function fail(message: string): never {
  process.stderr.write(message + "\n");
  process.exit(2);
}

main().catch((err: unknown) => {
  log(String(err instanceof Error ? err.stack ?? err.message : err));
  process.exit(1);
});
