/** QEMU: the QMP client, NBD awareness, and migration orchestration for both roles. */
module io.migtunnel.qemu {
    requires transitive io.migtunnel.transport;
    requires transitive com.fasterxml.jackson.databind;
    requires org.newsclub.net.unix;
    requires org.slf4j;

    exports io.migtunnel.qemu.migration;
    exports io.migtunnel.qemu.nbd;
    exports io.migtunnel.qemu.qmp;
    exports io.migtunnel.qemu.vm;

    // The control stream's records (ControlMessage), read and written by Jackson; not exported.
    opens io.migtunnel.qemu.migration.internal to com.fasterxml.jackson.databind;
}
