// Contract client for POST /v1/agui: the official AG-UI client (@ag-ui/client's HttpAgent)
// runs a plan of runs against our server in one thread, validating every event with its own
// verifier and models, and prints one JSON line the Python test asserts on.
//
// node check_agui.mjs --url URL --header "authorization: Bearer KEY" --thread ID \
//   --plan '[{"message":"..."},{"resume":"approve"}]'
import { HttpAgent, getRunOutcome, buildResumeArray } from "@ag-ui/client";

const args = process.argv.slice(2);
const arg = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const headers = {};
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--header") {
    const [k, ...v] = args[i + 1].split(":");
    headers[k.trim()] = v.join(":").trim();
  }
}

const agent = new HttpAgent({ url: arg("url"), headers, threadId: arg("thread") });
const plan = JSON.parse(arg("plan"));
const runs = [];

for (const step of plan) {
  const seen = [];
  const run = { events: seen, errors: [] };
  const subscriber = {
    onEvent({ event }) {
      seen.push(event.type);
    },
    onRunFinishedEvent(params) {
      run.outcome = params.outcome;
      run.interrupts = params.interrupts ?? [];
      run.usage = params.event.usage ?? null;
      run.runId = params.event.runId;
    },
    onRunErrorEvent({ event }) {
      run.runError = { code: event.code, message: event.message, metadata: event.metadata };
    },
    onToolCallEndEvent({ toolCallName, toolCallArgs }) {
      (run.toolCalls ??= []).push({ name: toolCallName, args: toolCallArgs });
    },
  };
  const parameters = { runId: `run-${runs.length}-${Date.now()}` };
  if (step.message) {
    agent.addMessage({ id: `u-${runs.length}-${Date.now()}`, role: "user", content: step.message });
  }
  if (step.resume) {
    const responses = {};
    for (const interrupt of agent.pendingInterrupts) {
      responses[interrupt.id] =
        step.resume === "approve"
          ? { status: "resolved", payload: { approved: true } }
          : { status: "cancelled" };
    }
    parameters.resume = buildResumeArray(agent.pendingInterrupts, responses);
  }
  run.sentRunId = parameters.runId;
  try {
    const result = await agent.runAgent(parameters, subscriber);
    run.newMessages = result.newMessages.map((m) => ({
      role: m.role,
      content: typeof m.content === "string" ? m.content : null,
      toolCalls: (m.toolCalls ?? []).map((c) => c.function.name),
      toolCallId: m.toolCallId ?? null,
    }));
  } catch (error) {
    run.errors.push(String(error?.message ?? error));
  }
  run.pendingInterrupts = agent.pendingInterrupts.map((i) => ({
    id: i.id,
    reason: i.reason,
    toolCallId: i.toolCallId,
    expiresAt: i.expiresAt,
  }));
  runs.push(run);
}

console.log(JSON.stringify({ runs, messages: agent.messages.length }));
