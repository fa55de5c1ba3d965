package io.migtunnel.metrics;

/** The answer of {@code GET /health}: up (HTTP 200) or down (HTTP 503), with a one-line message. */
public record TunnelHealth(boolean up, String message) {
    public TunnelHealth {
        message = message.replaceAll("[\\r\\n]+", " ");
    }
}
