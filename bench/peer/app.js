// The bench's peer: the smallest Bolt for JavaScript app that does what
// the troubleshooter does per first message, without its state: receive a
// signed Events API message.im over HTTP, answer with one message holding
// three buttons. It posts to the fake Web API named by SLACK_API_URL (the
// bench's --api-listen), so both bots face the same latency and limits.
'use strict';
const { App } = require('@slack/bolt');

const port = Number(process.env.PORT || 3000);
const app = new App({
  token: process.env.SLACK_BOT_TOKEN || 'xoxb-bench-peer',
  // The bench signs with this (bench.SlackSigningSecret); not a secret.
  signingSecret: process.env.SLACK_SIGNING_SECRET || 'bench-signing-secret',
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL || 'http://127.0.0.1:7771/' },
});

// The same shape as the troubleshooter's first question: a section and
// three buttons.
const choices = [
  ['on', "It's on"],
  ['off', "It's off"],
  ['missing', "WhatsApp isn't in the list"],
];

app.message(async ({ say }) => {
  await say({
    text: 'First: is WhatsApp allowed to use iCloud?',
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: '*First: is WhatsApp allowed to use iCloud?*\nOn your iPhone open Settings, tap your name, then iCloud.' } },
      {
        type: 'actions',
        elements: choices.map(([value, label]) => ({
          type: 'button', action_id: 'choice_' + value, value, text: { type: 'plain_text', text: label },
        })),
      },
    ],
  });
});

app.error(async (err) => {
  // A failed say() (after the client's own retries) is logged, as a real
  // app would; the bench counts only posts the fake API accepted.
  console.error('bolt error:', err && err.message);
});

(async () => {
  await app.start(port);
  console.log(`bolt peer listening on :${port}, Web API ${app.client.slackApiUrl}`);
})();
