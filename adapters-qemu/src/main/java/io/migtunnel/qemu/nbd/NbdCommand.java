package io.migtunnel.qemu.nbd;

/** NBD transmission request types (NBD protocol, "Request types"). */
public enum NbdCommand {
    READ(0), WRITE(1), DISC(2), FLUSH(3), TRIM(4), CACHE(5), WRITE_ZEROES(6), BLOCK_STATUS(7), OTHER(-1);

    /** Wire types 0..7 in order; {@code values()} would copy its array on every request. */
    private static final NbdCommand[] BY_CODE = {READ, WRITE, DISC, FLUSH, TRIM, CACHE, WRITE_ZEROES, BLOCK_STATUS};

    private final int code;

    NbdCommand(int code) {
        this.code = code;
    }

    /** The command for a wire type, {@link #OTHER} when unknown. */
    public static NbdCommand of(int type) {
        return type >= 0 && type < BY_CODE.length ? BY_CODE[type] : OTHER;
    }
}
