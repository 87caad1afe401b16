-- wrk paced: each connection waits 5 ms between requests (about 200/s per connection), so the
-- independent client runs all through the deploy without taking the machine's two cores.
function delay()
  return 5
end
