package io.migtunnel.cli;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Parsers for {@code HOST:PORT} and {@code NAME=PATH} arguments. */
final class Endpoints {
    private Endpoints() {
    }

    /** {@code HOST:PORT}, {@code [V6]:PORT}; the host is resolved when the socket is used. */
    static final class HostPort implements ITypeConverter<InetSocketAddress> {
        @Override
        public InetSocketAddress convert(String value) {
            int colon = value.lastIndexOf(':');
            if (colon <= 0 || colon == value.length() - 1) {
                throw new TypeConversionException("'" + value + "' is not HOST:PORT");
            }
            String host = value.substring(0, colon);
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            int port;
            try {
                port = Integer.parseInt(value.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new TypeConversionException("'" + value + "' has a port that is not a number");
            }
            if (port < 0 || port > 65535) {
                throw new TypeConversionException("'" + value + "' has a port outside 0..65535");
            }
            return InetSocketAddress.createUnresolved(host, port);
        }
    }

    /** {@code NAME=PATH}: a stream name and a UNIX socket path. */
    static final class NamedSocket implements ITypeConverter<Map.Entry<String, Path>> {
        @Override
        public Map.Entry<String, Path> convert(String value) {
            Map.Entry<String, String> e = named(value, "UNIX_PATH", false);
            return Map.entry(e.getKey(), Path.of(e.getValue()));
        }
    }

    /**
     * Splits NAME=VALUE at the first '=' and checks NAME as a stream name, or with {@code prefixes}
     * as a prefix ending in {@code *} (checked as the start of a name: "nbd/*" as "nbd/x").
     */
    static Map.Entry<String, String> named(String value, String what, boolean prefixes) {
        int eq = value.indexOf('=');
        if (eq <= 0 || eq == value.length() - 1) {
            throw new TypeConversionException("'" + value + "' is not NAME=" + what);
        }
        String name = value.substring(0, eq);
        String checked = prefixes && name.endsWith("*") ? name.substring(0, name.length() - 1) + "x" : name;
        String problem = checked.equals("x") && name.equals("*") ? "a prefix must have at least one character"
            : io.migtunnel.protocol.StreamNames.problem(checked);
        if (problem != null) {
            throw new TypeConversionException("'" + value + "': " + problem);
        }
        return Map.entry(name, value.substring(eq + 1));
    }

    /** Resolves an address parsed by {@link HostPort}. */
    static InetSocketAddress resolve(InetSocketAddress unresolved) {
        return new InetSocketAddress(unresolved.getHostString(), unresolved.getPort());
    }
}
