package switchboard.example;

import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;

import org.apache.avro.generic.GenericRecord;

/** The JSON this client prints: a task's id, status, answer and citations, sealed fields opened. */
final class Json {
    private Json() {
    }

    static String result(GenericRecord done, Sealer sealer) throws GeneralSecurityException {
        List<String> citations = new ArrayList<>();
        for (Object c : (List<?>) done.get("citations")) {
            GenericRecord citation = (GenericRecord) c;
            citations.add("{\"doc_id\":" + quote(citation.get("doc_id")) + ",\"passage_id\":"
                    + quote(citation.get("passage_id")) + ",\"title\":"
                    + quote(sealer.open("citations.title", citation.get("title").toString())) + "}");
        }
        GenericRecord envelope = (GenericRecord) done.get("envelope");
        return "{\"task_id\":" + quote(envelope.get("task_id")) + ",\"status\":" + quote(done.get("status"))
                + ",\"answer\":" + quote(sealer.open("answer", done.get("answer").toString()))
                + ",\"citations\":[" + String.join(",", citations) + "]}";
    }

    static String quote(Object value) {
        StringBuilder out = new StringBuilder("\"");
        for (char ch : String.valueOf(value).toCharArray()) {
            switch (ch) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> out.append(ch < 0x20 ? String.format("\\u%04x", (int) ch) : String.valueOf(ch));
            }
        }
        return out.append('"').toString();
    }
}
