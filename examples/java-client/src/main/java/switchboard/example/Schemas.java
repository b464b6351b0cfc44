package switchboard.example;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.apache.avro.Schema;

/**
 * The mesh's Avro schemas, read from the .avsc files of the repository's schemas/ folder.
 *
 * <p>Each file names the records it uses ("switchboard.Envelope"); Avro's parser needs a name defined before it
 * is used, so the files are parsed in dependency order.
 */
final class Schemas {
    private static final Pattern REFERENCE = Pattern.compile("\"(switchboard\\.[A-Za-z]+)\"");

    private final Map<String, Schema> byName = new HashMap<>();

    Schemas(Path dir) throws IOException {
        Map<String, String> texts = new HashMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".avsc"))::iterator) {
                String name = file.getFileName().toString().replaceAll("\\.avsc$", "");
                texts.put(name, Files.readString(file));
            }
        }
        Set<String> order = new LinkedHashSet<>();
        for (String name : texts.keySet()) {
            visit(name, texts, order);
        }
        Schema.Parser parser = new Schema.Parser();
        for (String name : order) {
            byName.put(name, parser.parse(texts.get(name)));
        }
    }

    /** Adds {@code name} to {@code order} after every schema it references. */
    private static void visit(String name, Map<String, String> texts, Set<String> order) {
        if (order.contains(name) || !texts.containsKey(name)) {
            return;
        }
        List<String> uses = new ArrayList<>();
        Matcher m = REFERENCE.matcher(texts.get(name));
        while (m.find()) {
            if (!m.group(1).equals(name)) {
                uses.add(m.group(1));
            }
        }
        uses.forEach(u -> visit(u, texts, order));
        order.add(name);
    }

    /** The schema of a record, by full name ("switchboard.TaskSubmitted"). */
    Schema get(String name) {
        Schema schema = byName.get(name);
        if (schema == null) {
            throw new IllegalArgumentException("no schema " + name + " in the schemas folder");
        }
        return schema;
    }
}
