/**
 * A progress bar with rate and ETA on a TTY; on a pipe or in CI, a plain line every few seconds
 * so logs stay readable.
 */
export class ProgressBar {
  private readonly started = performance.now();
  private lastRender = 0;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  update(done: number, extra = ''): void {
    const now = performance.now();
    if (now - this.lastRender < (this.tty ? 100 : 5_000) && done < this.total) return;
    this.lastRender = now;
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const fraction = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const eta = rate > 0 && this.total > done ? `${Math.ceil((this.total - done) / rate)}s` : '-';
    const stats = `${(fraction * 100).toFixed(0).padStart(3)}% ${rate.toFixed(0)} ${this.unit}/s ETA ${eta}${extra ? ` ${extra}` : ''}`;
    if (this.tty) {
      const width = 30;
      const filled = Math.round(fraction * width);
      this.stream.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${stats}\x1b[K`);
    } else {
      this.stream.write(`${this.label} ${stats}\n`);
    }
  }

  done(summary: string): void {
    if (this.tty) this.stream.write('\r\x1b[K');
    this.stream.write(`${this.label} ${summary}\n`);
  }
}
