/** The wire protocol and the stream multiplexer. */
module io.migtunnel.core {
    requires transitive io.netty.buffer;
    requires transitive io.netty.common;
    requires transitive reactor.core;
    requires transitive org.reactivestreams;

    exports io.migtunnel.protocol;
    exports io.migtunnel.mux;
    exports io.migtunnel.mux.internal to io.migtunnel.transport;
}
