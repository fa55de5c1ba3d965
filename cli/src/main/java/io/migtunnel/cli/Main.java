package io.migtunnel.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code bin/migtunnel}. */
@Command(name = "migtunnel", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
    description = "Live-migrate QEMU VMs with their disks over one multiplexed, flow-controlled connection.",
    subcommands = {DestinationCommand.class, SourceCommand.class, MigrateCommand.class, DemoCommand.class})
public final class Main {
    /** Exit code for bad command-line arguments. */
    static final int EXIT_USAGE = 2;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code (for tests). */
    static int run(String... args) {
        CommandLine cmd = new CommandLine(new Main());
        cmd.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("migtunnel: " + ex.getMessage()
                + " (see '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help')");
            return EXIT_USAGE;
        });
        cmd.setExecutionExceptionHandler((ex, c, parseResult) -> {
            c.getErr().println("migtunnel: " + (ex.getMessage() != null ? ex.getMessage() : ex.toString()));
            return 1;
        });
        return cmd.execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"migtunnel " + (v != null ? v : "dev")};
        }
    }
}
