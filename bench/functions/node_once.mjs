// One parseContact call in a fresh node process: what "a new process per call" costs.
// Usage: node node_once.mjs '<inputs JSON>'  (prints the result JSON)
import { handle } from "./parse_contact.mjs";

const inputs = JSON.parse(process.argv[2] ?? '{"contact":{"name":"John Doe","phone":"(415) 555-0132"}}');
const response = await handle({ inputs }, { data: {} });
process.stdout.write(JSON.stringify(response.data) + "\n");
