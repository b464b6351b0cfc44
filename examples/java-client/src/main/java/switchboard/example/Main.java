package switchboard.example;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Asks a Switchboard mesh one question and prints its answer and citations as one JSON object.
 *
 * <p>It speaks only the topics' contract (docs/asyncapi.yaml): a TaskSubmitted in Avro single-object encoding on
 * tasks.submitted, keyed by the task id; the TaskCompleted under the same key on tasks.completed. Usage:
 * {@code java -cp target/classes:target/lib/* switchboard.example.Main "question"}, configured by environment:
 * SB_BOOTSTRAP, SB_SCHEMAS (the schemas/ folder), SB_TENANT, SB_USER, and optionally SB_TOPIC_PREFIX,
 * SB_GROUPS (comma-separated), SB_CLEARANCE, SB_TOKEN (principal token), SB_TENANT_KEY (the tenant's data key,
 * base64, where the mesh encrypts at rest) and SB_TIMEOUT_S.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> env = System.getenv();
        String question = args.length > 0 ? args[0] : fail("usage: Main QUESTION");
        String bootstrap = require(env, "SB_BOOTSTRAP");
        String prefix = env.getOrDefault("SB_TOPIC_PREFIX", "");
        String tenant = require(env, "SB_TENANT");
        Schemas schemas = new Schemas(Path.of(require(env, "SB_SCHEMAS")));
        Sealer sealer = new Sealer(tenant, env.get("SB_TENANT_KEY"));
        Duration timeout = Duration.ofSeconds(Long.parseLong(env.getOrDefault("SB_TIMEOUT_S", "60")));

        String taskId = UUID.randomUUID().toString().replace("-", "");
        String traceparent = "00-" + hex(16) + "-" + hex(8) + "-01";
        GenericRecord task = task(schemas, sealer, env, taskId, tenant, question, traceparent, timeout);
        byte[] value = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), task.getSchema())
                .encode(task).array();

        try (KafkaConsumer<byte[], byte[]> results = consumer(bootstrap, prefix + "tasks.completed");
             KafkaProducer<byte[], byte[]> producer = producer(bootstrap)) {
            ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(prefix + "tasks.submitted",
                    taskId.getBytes(StandardCharsets.UTF_8), value);
            record.headers().add("traceparent", traceparent.getBytes(StandardCharsets.UTF_8));
            producer.send(record).get();
            log("submitted task " + taskId);
            GenericRecord done = await(results, schemas.get("switchboard.TaskCompleted"), taskId, timeout);
            System.out.println(Json.result(done, sealer));
        }
    }

    /** The TaskSubmitted record: envelope, question (sealed where the mesh seals), principal and token. */
    static GenericRecord task(Schemas schemas, Sealer sealer, Map<String, String> env, String taskId, String tenant,
                              String question, String traceparent, Duration timeout) throws Exception {
        long now = System.currentTimeMillis();
        GenericRecord envelope = new GenericData.Record(schemas.get("switchboard.Envelope"));
        envelope.put("event_id", UUID.randomUUID().toString().replace("-", ""));
        envelope.put("task_id", taskId);
        envelope.put("step_id", "root");
        envelope.put("tenant_id", tenant);
        envelope.put("idempotency_key", sha256(taskId + "\u001froot\u001fsubmitted").substring(0, 32));
        envelope.put("attempt", 0);
        envelope.put("policy_version", "");
        envelope.put("traceparent", traceparent);
        envelope.put("created_at", now);

        Schema principalSchema = schemas.get("switchboard.Principal");
        GenericRecord principal = new GenericData.Record(principalSchema);
        principal.put("tenant_id", tenant);
        principal.put("user_id", require(env, "SB_USER"));
        String groups = env.getOrDefault("SB_GROUPS", "");
        principal.put("groups", groups.isEmpty() ? List.of() : Arrays.asList(groups.split(",")));
        principal.put("clearance", new GenericData.EnumSymbol(principalSchema.getField("clearance").schema(),
                env.getOrDefault("SB_CLEARANCE", "internal")));
        principal.put("roles", List.of());

        GenericRecord task = new GenericData.Record(schemas.get("switchboard.TaskSubmitted"));
        task.put("envelope", envelope);
        task.put("question", sealer.seal("question", question));
        task.put("principal", principal);
        task.put("top_k", 5);
        task.put("deadline_ms", now + timeout.toMillis());
        task.put("principal_token", env.get("SB_TOKEN"));
        return task;
    }

    /** The TaskCompleted keyed by {@code taskId}; records of other schemas or tasks are skipped. */
    static GenericRecord await(KafkaConsumer<byte[], byte[]> results, Schema schema, String taskId,
                               Duration timeout) throws Exception {
        BinaryMessageDecoder<GenericRecord> decoder = new BinaryMessageDecoder<>(GenericData.get(), schema);
        byte[] key = taskId.getBytes(StandardCharsets.UTF_8);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            for (ConsumerRecord<byte[], byte[]> r : results.poll(Duration.ofMillis(200))) {
                if (r.key() == null || !Arrays.equals(r.key(), key)) {
                    continue;
                }
                try {
                    return decoder.decode(ByteBuffer.wrap(r.value()));
                } catch (org.apache.avro.AvroRuntimeException | java.io.IOException e) {
                    continue; // not a TaskCompleted this client knows
                }
            }
        }
        throw new IllegalStateException("no answer within " + timeout.toSeconds() + " s for task " + taskId);
    }

    /**
     * A consumer of every partition of {@code topic}, without a consumer group, from the first offset (as the Python
     * client's {@code result} reads): the result is found by its key whenever it lands. An explicit offset needs no
     * offset lookup (ListOffsets), which tansu did not answer for kafka-clients 4.4 in our runs; on Apache Kafka a
     * client may {@code seekToEnd} before submitting instead.
     */
    static KafkaConsumer<byte[], byte[]> consumer(String bootstrap, String topic) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("enable.auto.commit", "false");
        p.put("auto.offset.reset", "earliest");
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> parts = new ArrayList<>();
        c.partitionsFor(topic).forEach(i -> parts.add(new TopicPartition(topic, i.partition())));
        c.assign(parts);
        parts.forEach(tp -> c.seek(tp, 0));
        return c;
    }

    static KafkaProducer<byte[], byte[]> producer(String bootstrap) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("acks", "all");
        p.put("enable.idempotence", "false"); // as the mesh's own producers; tansu did not complete an idempotent produce
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    static String sha256(String text) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    }

    static String hex(int bytes) {
        byte[] b = new byte[bytes];
        new java.security.SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** Progress on stderr, so stdout holds only the result's JSON. */
    static void log(String message) {
        System.err.println("java-client: " + message);
    }

    static String require(Map<String, String> env, String name) {
        String v = env.get(name);
        return v == null || v.isEmpty() ? fail("set " + name) : v;
    }

    static String fail(String message) {
        System.err.println(message);
        System.exit(2);
        return null;
    }
}
