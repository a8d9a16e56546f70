/** Code review in the editor (issue 20): "Tether: Review Uncommitted Changes / Against Branch… /
 * Commit…" and the chat's "Review this turn" start `review/start` on the chat's thread; when its
 * `review` item completes, each finding becomes a comment thread on its lines (the Comments API,
 * controller `tether-review`, so they are also listed in the Comments panel), labelled
 * `[P1] title` with the body as markdown, replacing the threads of the last review of the same
 * target. A thread offers "Fix with Tether" (a turn on the finding's lines with `proposeEdits`,
 * so the fix is a per-hunk proposal), "Apply suggestion" when the finding has one (the file with
 * those lines replaced, proposed through `change/propose`) and "Dismiss", which resolves it.
 * When the chat loads a thread (a reload, a thread opened again), its reviews come back, with
 * the findings the user dismissed still resolved. With `tether.review.showInProblems` (off by
 * default) the open findings are also Problems. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as vscode from 'vscode';
import type { ChatSession } from '../chat/session';
import type { Finding, ItemOf } from '../protocol';
import { turnChangedFiles } from '../state/present';
import { applySuggestion, findingLabel, linesAt, onWorkingTree, targetKey } from './present';
import * as api from '../vscodeapi';

const run = promisify(execFile);

/** A thread's contextValue: its menus show "Apply suggestion" only when there is one, and
 * nothing once it is resolved. */
const OPEN = 'tetherFinding.open';
const WITH_SUGGESTION = 'tetherFinding.open.suggestion';
const RESOLVED = 'tetherFinding.resolved';

/** The ids of the findings the user dismissed, kept with the workspace (finding ids are unique
 * and stay in the thread's record). */
export interface DismissedFindings {
  get(): string[];
  set(ids: string[]): void;
}

/** Dismissals remembered: enough for every finding a user dismisses in a long while. */
const DISMISSED_KEPT = 1000;

export class ReviewFindings implements vscode.Disposable {
  private readonly controller = vscode.comments.createCommentController('tether-review', 'Tether Review');
  /** Open findings as Problems too, when `tether.review.showInProblems` is on (off by default). */
  private readonly problems = vscode.languages.createDiagnosticCollection('tether-review');
  private readonly findings = new Map<vscode.CommentThread, Finding>();
  /** The threads of the latest review of each target (`targetKey`), and when it ended. */
  private readonly byTarget = new Map<string, { threads: vscode.CommentThread[]; at: number }>();
  /** Per thread, the finding's lines as the file had them when the review came. */
  private readonly reviewedLines = new Map<vscode.CommentThread, string | undefined>();
  private readonly shown = new Set<string>();
  private readonly subscription: { dispose(): void };
  private readonly settingWatch: vscode.Disposable;

  constructor(
    private readonly session: ChatSession,
    private readonly dismissed: DismissedFindings,
  ) {
    this.subscription = session.subscribe((event) => {
      if (event.type === 'threadLoaded') {
        // A reload or a thread opened again: its reviews come back, the newest per target,
        // unless a newer one is shown already.
        for (const turn of event.turns) for (const item of turn.items) if (item.type === 'review') void this.show(item, turn.completedAt ?? 0, false);
        return;
      }
      if (event.type !== 'notification' || event.notification.method !== 'item/completed') return;
      const item = event.notification.params.item;
      if (item.type === 'review') void this.show(item, Date.now(), true);
    });
    this.settingWatch = api.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('tether.review.showInProblems')) this.syncProblems();
    });
  }

  dispose(): void {
    this.subscription.dispose();
    this.settingWatch.dispose();
    this.problems.dispose();
    this.controller.dispose();
  }

  /** The Problems panel's copy of the open findings (none when the setting is off). */
  private syncProblems(): void {
    this.problems.clear();
    if (api.getConfiguration('tether').get('review.showInProblems') !== true) return;
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const [thread, finding] of this.findings) {
      if (thread.state === vscode.CommentThreadState.Resolved) continue;
      const range = new vscode.Range(finding.range.start, 0, finding.range.end, Number.MAX_SAFE_INTEGER);
      const problem = new vscode.Diagnostic(range, findingLabel(finding), problemSeverity(finding.priority));
      problem.source = 'Tether review';
      byFile.set(finding.path, [...(byFile.get(finding.path) ?? []), problem]);
    }
    for (const [path, list] of byFile) this.problems.set(vscode.Uri.file(path), list);
  }

  private cwd(): string | undefined {
    return api.workspaceFolders()[0]?.uri.fsPath;
  }

  async reviewUncommitted(): Promise<void> {
    await this.session.startReview({ type: 'uncommittedChanges' });
  }

  /** Picks a local or remote branch, not the one checked out (against itself there is no
   * change but the uncommitted one). */
  async reviewBranch(): Promise<void> {
    const refs = await this.git(['for-each-ref', '--format=%(HEAD)%(refname:short)', 'refs/heads', 'refs/remotes']);
    if (!refs) return;
    const picks = refs.filter((r) => r && !r.startsWith('*') && !r.endsWith('/HEAD')).map((r) => ({ label: r.slice(1) }));
    const pick = await api.showQuickPick(picks, { title: 'Tether: review the changes against which branch?' });
    if (pick) await this.session.startReview({ type: 'baseBranch', branch: pick.label });
  }

  async reviewCommit(): Promise<void> {
    const log = await this.git(['log', '-n', '100', '--format=%H%x09%s']);
    if (!log) return;
    const picks = log.filter(Boolean).map((line) => {
      const [sha = '', title = ''] = line.split('\t');
      return { label: title, description: sha.slice(0, 10), sha };
    });
    const pick = await api.showQuickPick(picks, { title: 'Tether: review which commit?', matchOnDescription: true });
    if (pick) await this.session.startReview({ type: 'commit', sha: pick.sha, title: pick.label });
  }

  /** Reviews what turn `turnId` of the chat changed; without one (the palette), the latest turn
   * that changed files. */
  async reviewTurn(turnId?: string): Promise<void> {
    const changing = this.session.current.turns.filter((t) => t.status === 'completed' && turnChangedFiles(t.items));
    const turn = turnId ?? changing[changing.length - 1]?.id;
    if (!turn) {
      void api.showInformationMessage('Tether: no turn of this chat changed files yet.');
      return;
    }
    await this.session.startReview({ type: 'turn', turnId: turn });
  }

  /** The lines git prints, or undefined (said to the user, when `tell`) when it failed. */
  private async git(args: string[], tell = true): Promise<string[] | undefined> {
    const cwd = this.cwd();
    if (!cwd) {
      if (tell) void api.showErrorMessage('Open a folder first: Tether reviews a workspace.');
      return undefined;
    }
    try {
      return (await run('git', args, { cwd, maxBuffer: 64 * 1024 * 1024 })).stdout.split('\n');
    } catch (err) {
      if (tell) void api.showErrorMessage(`Tether could not read the repository: ${err instanceof Error ? err.message : String(err)}. Open the folder of a git repository to review its branches and commits.`);
      return undefined;
    }
  }

  /** One comment thread per finding, replacing those of the last review of the same target
   * (dismissed ones included: the new review is the current word on that change) unless that
   * one is newer (`at`, when the review ended). A review item is shown once even when it is
   * sent again. With `reveal`, the first finding's file opens at its lines. A commit's
   * findings name the commit's lines: they move to where those lines are now. */
  async show(item: ItemOf<'review'>, at: number, reveal: boolean): Promise<void> {
    const key = targetKey(item.target);
    const newer = (): boolean => (this.byTarget.get(key)?.at ?? -Infinity) > at;
    if (this.shown.has(item.id) || newer()) return;
    this.shown.add(item.id);
    const findings = item.target.type === 'commit' ? await this.onWorkingTree(item.target.sha, item.findings) : item.findings;
    if (newer()) return;
    for (const old of this.byTarget.get(key)?.threads ?? []) {
      this.findings.delete(old);
      this.reviewedLines.delete(old);
      old.dispose();
    }
    const threads = findings.map((finding) => this.thread(finding));
    this.byTarget.set(key, { threads, at });
    this.syncProblems();
    void this.rememberLines(threads);
    if (!reveal) return;
    const [top] = findings;
    // Threads show in open editors only.
    if (top) void vscode.window.showTextDocument(vscode.Uri.file(top.path), { selection: new vscode.Range(top.range.start, 0, top.range.start, 0), preview: false });
    else void api.showInformationMessage(`Tether review: no findings. ${item.overallExplanation}`);
  }

  /** `findings` of commit `sha` on the working tree's lines, by the diff of each file since. */
  private async onWorkingTree(sha: string, findings: Finding[]): Promise<Finding[]> {
    const diffs = new Map<string, string | undefined>();
    for (const path of new Set(findings.map((f) => f.path))) {
      diffs.set(path, (await this.git(['diff', '--no-color', '--no-ext-diff', '-U0', sha, '--', path], false))?.join('\n'));
    }
    return findings.map((f) => {
      const diff = diffs.get(f.path);
      return diff === undefined ? f : onWorkingTree(f, diff);
    });
  }

  private thread(finding: Finding): vscode.CommentThread {
    const range = new vscode.Range(finding.range.start, 0, finding.range.end, 0);
    const body = new vscode.MarkdownString(finding.body + (finding.suggestion ? `\n\nSuggested:\n\n\`\`\`\n${finding.suggestion}\n\`\`\`` : ''));
    const comment: vscode.Comment = { body, mode: vscode.CommentMode.Preview, author: { name: findingLabel(finding) } };
    const thread = this.controller.createCommentThread(vscode.Uri.file(finding.path), range, [comment]);
    thread.label = findingLabel(finding);
    thread.canReply = false;
    this.findings.set(thread, finding);
    if (this.dismissed.get().includes(finding.id)) this.resolve(thread);
    else {
      thread.contextValue = finding.suggestion ? WITH_SUGGESTION : OPEN;
      thread.state = vscode.CommentThreadState.Unresolved;
      thread.collapsibleState = vscode.CommentThreadCollapsibleState.Expanded;
    }
    return thread;
  }

  private async rememberLines(threads: vscode.CommentThread[]): Promise<void> {
    for (const thread of threads) {
      const finding = this.findings.get(thread);
      if (!finding) continue;
      const text = await vscode.workspace.openTextDocument(thread.uri).then(
        (d) => d.getText(),
        () => undefined,
      );
      if (text !== undefined) this.reviewedLines.set(thread, linesAt(text, finding.range.start, finding.range.end));
    }
  }

  async fix(thread: vscode.CommentThread): Promise<void> {
    const finding = this.findings.get(thread);
    if (!finding) return;
    const text = `Fix this review finding: ${findingLabel(finding)}\n\n${finding.body}`;
    const range = { start: { line: finding.range.start, character: 0 }, end: { line: finding.range.end + 1, character: 0 } };
    await this.session.sendFromEditor(text, { path: finding.path, range });
  }

  /** The file with the finding's lines replaced by its suggestion, as a per-hunk proposal
   * (`change/propose`, as an applied code block): nothing is written before the user accepts.
   * The text is the editor's, unsaved changes included; when those lines changed since the
   * review, the suggestion may no longer fit them, and it is refused, saying why. */
  async apply(thread: vscode.CommentThread): Promise<void> {
    const finding = this.findings.get(thread);
    if (!finding?.suggestion) return;
    const { start, end } = finding.range;
    const text = (await vscode.workspace.openTextDocument(thread.uri)).getText();
    const reviewed = this.reviewedLines.get(thread);
    const content = reviewed === undefined || linesAt(text, start, end) === reviewed ? applySuggestion(text, start, end, finding.suggestion) : undefined;
    if (content === undefined) {
      const lines = end > start ? `lines ${start + 1}–${end + 1}` : `line ${start + 1}`;
      void api.showErrorMessage(`Tether: ${api.asRelativePath(finding.path)} changed at ${lines} since the review, so its suggestion may not fit any more. Review it again.`);
      return;
    }
    await this.session.propose(finding.path, content);
  }

  /** Dismiss resolves the finding: its thread collapses and stays, marked resolved, in the
   * editor and the Comments panel, without its actions; so it comes back after a reload. */
  dismiss(thread: vscode.CommentThread): void {
    const finding = this.findings.get(thread);
    if (!finding) return;
    this.resolve(thread);
    this.syncProblems();
    this.dismissed.set([...this.dismissed.get().filter((id) => id !== finding.id), finding.id].slice(-DISMISSED_KEPT));
  }

  private resolve(thread: vscode.CommentThread): void {
    thread.state = vscode.CommentThreadState.Resolved;
    thread.contextValue = RESOLVED;
    thread.collapsibleState = vscode.CommentThreadCollapsibleState.Collapsed;
  }
}

function problemSeverity(priority: number): vscode.DiagnosticSeverity {
  if (priority <= 0) return vscode.DiagnosticSeverity.Error;
  return priority === 1 ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Information;
}
