package io.migtunnel.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Bad arguments: one line naming the argument, exit code 2. */
class CommandLineTest {
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "destination --route a=/tmp/x                          | --listen",
        "destination --listen nocolon --route a=/tmp/x         | nocolon",
        "destination --listen 127.0.0.1:99999 --route a=/tmp/x | 99999",
        "destination --listen 127.0.0.1:1 --route noequals     | noequals",
        "source --connect 127.0.0.1:1 --expose ../up=/tmp/x    | ../up",
        "source --connect 127.0.0.1:1                          | --expose",
        "source --connect 127.0.0.1:1 --expose a=/tmp/x --bogus | --bogus",
        "destination --listen 127.0.0.1:1 --route a=/tmp/x --metrics nocolon | nocolon",
        "frobnicate                                            | frobnicate",
    })
    void badArgumentsExitTwoWithOneLineNamingIt(String args, String named) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream old = System.err;
        int code;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            code = Main.run(args.trim().split("\\s+"));
        } finally {
            System.setErr(old);
        }
        String text = err.toString(StandardCharsets.UTF_8).strip();
        assertThat(code).isEqualTo(2);
        assertThat(text.lines()).hasSize(1);
        assertThat(text).contains(named.trim());
    }
}
