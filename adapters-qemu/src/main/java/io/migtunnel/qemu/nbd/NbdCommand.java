package io.migtunnel.qemu.nbd;

/** NBD transmission request types (NBD protocol, "Request types"). */
public enum NbdCommand {
    READ(0), WRITE(1), DISC(2), FLUSH(3), TRIM(4), CACHE(5), WRITE_ZEROES(6), BLOCK_STATUS(7), OTHER(-1);

    private final int code;

    NbdCommand(int code) {
        this.code = code;
    }

    /** The command for a wire type, {@link #OTHER} when unknown. */
    public static NbdCommand of(int type) {
        for (NbdCommand c : values()) {
            if (c.code == type) {
                return c;
            }
        }
        return OTHER;
    }
}
