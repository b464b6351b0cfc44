package switchboard.example;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Seals and opens payload fields as a mesh that encrypts at rest does.
 *
 * <p>A sealed value is "sb1:" + base64(12-byte nonce, AES-256-GCM ciphertext and tag) under the tenant's data key,
 * with "tenant/field" as associated data. Without a key (a mesh with encryption off) values pass unchanged.
 */
final class Sealer {
    private static final String PREFIX = "sb1:";
    private static final int NONCE = 12;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String tenant;
    private final SecretKeySpec key;

    Sealer(String tenant, String base64Key) {
        this.tenant = tenant;
        this.key = base64Key == null || base64Key.isEmpty()
                ? null : new SecretKeySpec(Base64.getDecoder().decode(base64Key), "AES");
    }

    String seal(String field, String text) throws GeneralSecurityException {
        if (key == null || text.isEmpty()) {
            return text;
        }
        byte[] nonce = new byte[NONCE];
        RANDOM.nextBytes(nonce);
        Cipher cipher = cipher(Cipher.ENCRYPT_MODE, field, nonce);
        byte[] body = cipher.doFinal(text.getBytes(StandardCharsets.UTF_8));
        byte[] out = new byte[NONCE + body.length];
        System.arraycopy(nonce, 0, out, 0, NONCE);
        System.arraycopy(body, 0, out, NONCE, body.length);
        return PREFIX + Base64.getEncoder().encodeToString(out);
    }

    String open(String field, String value) throws GeneralSecurityException {
        if (key == null || !value.startsWith(PREFIX)) {
            return value;
        }
        byte[] raw = Base64.getDecoder().decode(value.substring(PREFIX.length()));
        Cipher cipher = cipher(Cipher.DECRYPT_MODE, field, Arrays.copyOfRange(raw, 0, NONCE));
        return new String(cipher.doFinal(raw, NONCE, raw.length - NONCE), StandardCharsets.UTF_8);
    }

    private Cipher cipher(int mode, String field, byte[] nonce) throws GeneralSecurityException {
        Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
        cipher.init(mode, key, new GCMParameterSpec(128, nonce));
        cipher.updateAAD((tenant + "/" + field).getBytes(StandardCharsets.UTF_8));
        return cipher;
    }
}
