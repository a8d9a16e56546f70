/** Proposed edits (`approval/fileChange`, readOnly mode or protected paths): each file opens in a
 * diff editor, original on the left and the proposal on the right, with Accept and Reject
 * CodeLenses per hunk and Accept all / Reject all in the title bar. When every hunk is decided
 * the approval is answered with exactly the accepted hunks. Diffs open beside the editor the user
 * is in and never take the keyboard focus, except a proposal the user asked for from the editor
 * (inline chat): it opens in place of that editor, scrolled to its first change, with the focus,
 * and closing it returns to the editor. */
import * as vscode from 'vscode';
import type { ChatSession } from '../chat/session';
import type { FileChange, FileChangeApprovalParams, FileChangeApprovalResult } from '../protocol';
import { basename } from '../state/present';
import { type HunkDecision, HunkMismatchError, HunkReview, layoutHunks } from './hunks';

export const PROPOSAL_SCHEME = 'tether-proposal';

interface OpenProposal {
  params: FileChangeApprovalParams;
  review: HunkReview;
  originals: Map<string, string>;
  settle(result: FileChangeApprovalResult): void;
}

type Side = 'old' | 'new';

export function proposalUri(itemId: string, path: string, side: Side): vscode.Uri {
  return vscode.Uri.from({ scheme: PROPOSAL_SCHEME, path, query: `${side}:${itemId}` });
}

function parseProposalUri(uri: vscode.Uri): { itemId: string; side: Side; path: string } | undefined {
  if (uri.scheme !== PROPOSAL_SCHEME) return undefined;
  const match = /^(old|new):(.+)$/.exec(uri.query);
  return match ? { side: match[1] as Side, itemId: match[2]!, path: uri.path } : undefined;
}

export class FileProposals implements vscode.TextDocumentContentProvider, vscode.CodeLensProvider {
  private readonly open = new Map<string, OpenProposal>();
  /** Proposals the user answered: their applied hunks were reviewed and need no Undo/Keep. */
  private readonly reviewed = new Set<string>();
  private readonly contentChanged = new vscode.EventEmitter<vscode.Uri>();
  private readonly lensesChanged = new vscode.EventEmitter<void>();
  readonly onDidChange = this.contentChanged.event;
  readonly onDidChangeCodeLenses = this.lensesChanged.event;

  constructor(
    private readonly session: ChatSession,
    /** True for a proposal that opens in place (see above). */
    private readonly inPlace: (params: FileChangeApprovalParams) => boolean = () => false,
  ) {}

  register(): vscode.Disposable {
    return vscode.Disposable.from(
      vscode.workspace.registerTextDocumentContentProvider(PROPOSAL_SCHEME, this),
      vscode.languages.registerCodeLensProvider({ scheme: PROPOSAL_SCHEME }, this),
      this.contentChanged,
      this.lensesChanged,
    );
  }

  /** The handler of `approval/fileChange`. */
  async request(params: FileChangeApprovalParams, token: vscode.CancellationToken): Promise<FileChangeApprovalResult> {
    const originals = new Map<string, string>();
    for (const change of params.changes) originals.set(change.path, await currentText(change));
    return new Promise((resolve) => {
      const settle = (result: FileChangeApprovalResult): void => {
        if (!this.open.delete(params.itemId)) return;
        this.reviewed.add(params.itemId);
        this.session.dispatch({ type: 'approvalClosed', itemId: params.itemId });
        void closeDiffs(params.itemId);
        resolve(result);
      };
      this.open.set(params.itemId, { params, review: new HunkReview(params.changes), originals, settle });
      this.session.dispatch({ type: 'approvalOpened', approval: { kind: 'fileChange', ...params } });
      token.onCancellationRequested(() => settle({ decision: 'cancel' }));
      void this.show(params.itemId);
    });
  }

  /** Opens (or reopens, from the panel) the diff of every file of a pending proposal. */
  async show(itemId: string): Promise<void> {
    const entry = this.open.get(itemId);
    if (!entry) return;
    const inPlace = this.inPlace(entry.params);
    // Beside the editor the user works in, so what they type keeps going where it went.
    const column = inPlace || !vscode.window.activeTextEditor ? vscode.ViewColumn.Active : vscode.ViewColumn.Beside;
    for (const change of entry.params.changes) {
      const who = entry.params.agentType ? `sub-agent ${entry.params.agentType}'s` : 'Tether';
      const title = `${basename(change.path)} (${who} proposal: ${change.hunks.length} change${change.hunks.length === 1 ? '' : 's'})`;
      const first = inPlace ? this.firstChangeLine(entry, change) : undefined;
      await vscode.commands.executeCommand('vscode.diff', proposalUri(itemId, change.path, 'old'), proposalUri(itemId, change.path, 'new'), title, {
        preview: false,
        preserveFocus: !inPlace,
        viewColumn: column,
        ...(first === undefined ? {} : { selection: new vscode.Range(first, 0, first, 0) }),
      });
    }
  }

  /** Where the file's first proposed change is on the proposal's side, to scroll to. */
  private firstChangeLine(entry: OpenProposal, change: FileChange): number | undefined {
    try {
      return layoutHunks(entry.originals.get(change.path) ?? '', change.hunks, () => true).placements[0]?.anchor;
    } catch {
      return undefined;
    }
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const parsed = parseProposalUri(uri);
    const entry = parsed && this.open.get(parsed.itemId);
    if (!parsed || !entry) return '';
    const original = entry.originals.get(parsed.path) ?? '';
    if (parsed.side === 'old') return original;
    const change = entry.params.changes.find((c) => c.path === parsed.path);
    if (!change) return original;
    try {
      return layoutHunks(original, change.hunks, (h) => entry.review.shows(change.path, h)).text;
    } catch (err) {
      if (err instanceof HunkMismatchError) return `${err.message}\n\nThe proposed diff:\n\n${change.diff}`;
      throw err;
    }
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const parsed = parseProposalUri(document.uri);
    const entry = parsed && this.open.get(parsed.itemId);
    if (!parsed || parsed.side !== 'new' || !entry) return [];
    const change = entry.params.changes.find((c) => c.path === parsed.path);
    if (!change) return [];
    let placements;
    try {
      placements = layoutHunks(entry.originals.get(change.path) ?? '', change.hunks, (h) => entry.review.shows(change.path, h)).placements;
    } catch {
      return [];
    }
    const lenses: vscode.CodeLens[] = [];
    for (const placement of placements) {
      const range = new vscode.Range(placement.anchor, 0, placement.anchor, 0);
      const decision = entry.review.decisionOf(change.path, placement.index);
      const args = [parsed.itemId, change.path, placement.index];
      if (decision) {
        lenses.push(new vscode.CodeLens(range, { title: decision === 'accepted' ? '$(check) Accepted' : '$(close) Rejected', command: '' }));
        continue;
      }
      lenses.push(new vscode.CodeLens(range, { title: '$(check) Accept', command: 'tether.acceptHunk', arguments: args, tooltip: 'Accept this change' }));
      lenses.push(new vscode.CodeLens(range, { title: '$(close) Reject', command: 'tether.rejectHunk', arguments: args, tooltip: 'Reject this change' }));
    }
    return lenses;
  }

  decide(itemId: string, path: string, index: number, decision: HunkDecision): void {
    const entry = this.open.get(itemId);
    if (!entry) return;
    entry.review.decide(path, index, decision);
    this.afterDecision(itemId, entry, [path]);
  }

  /** Accept all / Reject all of the title bar: every file of the proposal whose diff is shown. */
  decideAll(uri: vscode.Uri | undefined, decision: HunkDecision): void {
    const parsed = uri && parseProposalUri(uri);
    const itemId = parsed?.itemId ?? this.activeItemId();
    const entry = itemId && this.open.get(itemId);
    if (!itemId || !entry) return;
    entry.review.decideAll(decision);
    this.afterDecision(itemId, entry, entry.params.changes.map((c) => c.path));
  }

  private afterDecision(itemId: string, entry: OpenProposal, paths: string[]): void {
    if (entry.review.isComplete()) {
      entry.settle(entry.review.result());
      return;
    }
    for (const path of paths) this.contentChanged.fire(proposalUri(itemId, path, 'new'));
    this.lensesChanged.fire();
  }

  private activeItemId(): string | undefined {
    const uri = vscode.window.activeTextEditor?.document.uri;
    return uri && parseProposalUri(uri)?.itemId;
  }

  wasReviewed(itemId: string): boolean {
    return this.reviewed.has(itemId);
  }

  cancelAll(): void {
    for (const entry of [...this.open.values()]) entry.settle({ decision: 'cancel' });
  }
}

/** The text hunks apply to: the editor's buffer when the file is open (the server sees it too),
 * else the disk, else nothing for a file the change adds. */
async function currentText(change: FileChange): Promise<string> {
  const uri = vscode.Uri.file(change.path);
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open) return open.getText();
  if (change.kind === 'add') return '';
  try {
    return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  } catch {
    return '';
  }
}

async function closeDiffs(itemId: string): Promise<void> {
  const tabs = vscode.window.tabGroups.all
    .flatMap((group) => group.tabs)
    .filter((tab) => tab.input instanceof vscode.TabInputTextDiff && parseProposalUri(tab.input.modified)?.itemId === itemId);
  if (tabs.length > 0) await vscode.window.tabGroups.close(tabs, true);
}
