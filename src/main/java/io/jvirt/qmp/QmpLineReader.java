package io.jvirt.qmp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.util.Arrays;

/**
 * Splits the monitor byte stream into lines. QEMU writes each QMP message as one line of compact JSON
 * ended by CR LF, so framing by line lets us hand Jackson exactly one message at a time and report a
 * malformed message without losing our place in the stream.
 *
 * <p>Reads the channel directly rather than through {@code Channels.newInputStream}, whose streams lock the
 * channel's blocking lock and would stall concurrent writes while a read is waiting.
 */
final class QmpLineReader {

    private final ReadableByteChannel channel;
    private final int maxLineLength;
    private final ByteBuffer buffer = ByteBuffer.allocate(64 * 1024).flip();
    private byte[] line = new byte[8 * 1024];
    private int lineLength;

    QmpLineReader(ReadableByteChannel channel, int maxLineLength) {
        this.channel = channel;
        this.maxLineLength = maxLineLength;
    }

    /**
     * The next line without its line terminator, or {@code null} at end of stream. A partial last line is
     * returned as a line: if it is incomplete JSON the parser will say so.
     */
    byte[] readLine() throws IOException {
        while (true) {
            while (buffer.hasRemaining()) {
                byte b = buffer.get();
                if (b == '\n') {
                    return takeLine();
                }
                append(b);
            }
            buffer.clear();
            int n = channel.read(buffer);
            buffer.flip();
            if (n < 0) {
                return lineLength > 0 ? takeLine() : null;
            }
        }
    }

    private void append(byte b) {
        if (lineLength == line.length) {
            if (line.length >= maxLineLength) {
                throw new QmpProtocolException("QMP message longer than " + maxLineLength + " bytes");
            }
            line = Arrays.copyOf(line, Math.min(maxLineLength, line.length * 2));
        }
        line[lineLength++] = b;
    }

    private byte[] takeLine() {
        int end = lineLength > 0 && line[lineLength - 1] == '\r' ? lineLength - 1 : lineLength;
        byte[] result = Arrays.copyOf(line, end);
        lineLength = 0;
        return result;
    }
}
