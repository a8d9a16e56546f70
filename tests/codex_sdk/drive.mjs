// Drives `tether` with OpenAI's Codex SDK, unchanged, as a Codex user would: run() on a new
// thread, runStreamed() on the same thread, then resumeThread(id).run(). Prints what each
// step returned (and a turn with an outputSchema) as one JSON object for test_codex_sdk.py to check.
// Usage: TETHER_BIN=... TETHER_WORKSPACE=... MODEL_BASE_URL=... node drive.mjs
import { Codex } from "@openai/codex-sdk";

const codex = new Codex({
  codexPathOverride: process.env.TETHER_BIN,
  baseUrl: process.env.MODEL_BASE_URL,
  apiKey: "sk-scripted-test-key",
});
const options = {
  workingDirectory: process.env.TETHER_WORKSPACE,
  skipGitRepoCheck: true,
  sandboxMode: "workspace-write",
};
const thread = codex.startThread(options);
const first = await thread.run("run the check");

const streamed = await thread.runStreamed("and again, streamed");
const events = [];
for await (const event of streamed.events) {
  events.push(event);
}

const resumed = codex.resumeThread(thread.id, options);
const third = await resumed.run("after resuming");

const schema = {
  type: "object",
  properties: { verdict: { type: "string", enum: ["pass", "fail"] } },
  required: ["verdict"],
  additionalProperties: false,
};
const structured = await codex.startThread(options).run("judge", { outputSchema: schema });

let failure = null;
try {
  await codex.startThread(options).run("this one fails");
} catch (error) {
  failure = String(error.message);
}

console.log(JSON.stringify({ threadId: thread.id, first, events, third, structured, failure }));
