-- POSTs GraphQL requests to /graphql for styr-bench (services/bench/src/wrk.rs).
--
-- Usage: wrk -s graphql.lua <url> -- <requests file> <threads>
-- Each line of the requests file is a bearer token, a tab, and a JSON body. Thread t of T
-- sends lines t+1, t+1+T, t+1+2T, ... in turn, so no two threads send the same line.
-- A response counts as failed unless it is HTTP 200 with no top-level "errors" member;
-- done() prints one line, "styr-wrk key=value ...", which the bench reads.

local threads = {}

function setup(thread)
   thread:set("index", #threads)
   table.insert(threads, thread)
end

function init(args)
   local file = assert(io.open(args[1], "r"))
   local count = tonumber(args[2])
   requests = {}
   local line_no = 0
   for line in file:lines() do
      if line_no % count == index then
         local tab = line:find("\t", 1, true)
         local headers = {
            ["Content-Type"] = "application/json",
            ["Authorization"] = "Bearer " .. line:sub(1, tab - 1),
         }
         table.insert(requests, wrk.format("POST", "/graphql", headers, line:sub(tab + 1)))
      end
      line_no = line_no + 1
   end
   file:close()
   assert(#requests > 0, "no request for thread " .. index)
   next_request = 0
   failed = 0
   first_failure = ""
end

function request()
   next_request = next_request % #requests + 1
   return requests[next_request]
end

function response(status, headers, body)
   -- Inside a JSON string every quote is escaped, so `"errors":` can only be a member name.
   if status ~= 200 or body:find('"errors":', 1, true) then
      failed = failed + 1
      if first_failure == "" then
         first_failure = ("HTTP " .. status .. ": " .. body:sub(1, 300)):gsub("%s", " ")
      end
   end
end

function done(summary, latency, _)
   local failed_total, first = 0, ""
   for _, thread in ipairs(threads) do
      failed_total = failed_total + thread:get("failed")
      if first == "" then
         first = thread:get("first_failure")
      end
   end
   local e = summary.errors
   io.write(string.format(
      "styr-wrk requests=%d duration_us=%d p50_us=%d p99_us=%d failed=%d socket_errors=%d first_failure=%s\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      failed_total, e.connect + e.read + e.write + e.timeout, first))
end
