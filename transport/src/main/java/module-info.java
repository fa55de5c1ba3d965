/** The tunnel's endpoints: Reactor Netty TCP (and TLS) and UNIX sockets feeding the core multiplexer. */
module io.migtunnel.transport {
    requires transitive io.migtunnel.core;
    requires transitive reactor.netty.core;
    requires transitive io.netty.transport;
    requires io.netty.codec;
    requires io.netty.handler;
    requires io.netty.transport.classes.epoll;
    requires io.netty.transport.unix.common;
    requires org.slf4j;

    exports io.migtunnel.transport;
}
